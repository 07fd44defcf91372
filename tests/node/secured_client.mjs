// Drives the official RavenDB Node.js client against a rookdb server for the Python test suite.
// Usage: node secured_client.mjs <url> <database> <certificate.pem|-> <ca.pem> <load|store> <id>
// Without a certificate ("-") the client gets no authOptions at all, as an application without one
// would; the CA then comes from NODE_EXTRA_CA_CERTS. Prints one JSON line: {"ok": true, "result": ...}
// or {"ok": false, "name": ..., "message": ...}.
import { readFileSync } from "node:fs";
import { DocumentStore } from "ravendb";

const [url, database, certificatePath, caPath, action, id] = process.argv.slice(2);
const store = certificatePath === "-"
  ? new DocumentStore(url, database)
  : new DocumentStore(url, database, { certificate: readFileSync(certificatePath), type: "pem", ca: readFileSync(caPath) });
store.initialize();
try {
  const session = store.openSession();
  let result;
  if (action === "load") {
    result = await session.load(id);
  } else {
    await session.store({ Total: 42 }, id);
    await session.saveChanges();
    result = id;
  }
  console.log(JSON.stringify({ ok: true, result }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, name: error.name, message: error.message }));
} finally {
  store.dispose();
}
