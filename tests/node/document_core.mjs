// Document core through one line of the official RavenDB Node.js client, for the Python test suite.
// Usage: node document_core.mjs <module: ravendb | ravendb-5.4> <url> <database>
// Runs one scenario (session, patches, attachments, lazy operations, changes, compare-exchange,
// identities, patch by query, statistics) and prints one JSON line with what the client saw, or
// {"error": ...} with the first failure.
const [moduleName, url, database] = process.argv.slice(2);
const ravendb = await import(moduleName);
const {
  DocumentStore, PatchOperation, PatchRequest, PatchByQueryOperation, PutCompareExchangeValueOperation,
  GetCompareExchangeValueOperation, NextIdentityForOperation, GetDetailedStatisticsOperation,
  GetDatabaseRecordOperation,
} = ravendb;

class User {
  constructor(name, age) {
    this.name = name;
    this.age = age;
  }
}

async function streamText(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

function withTimeout(promise, what, ms = 15000) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))]);
}

const store = new DocumentStore(url, database);
store.conventions.findCollectionNameForObjectLiteral = () => "Users";
store.initialize();
const seen = {};
try {
  const record = await store.maintenance.server.send(new GetDatabaseRecordOperation(database));
  seen.lockMode = record.lockMode;

  const changes = store.changes();
  const heard = [];
  const watched = changes.forDocument("users/9");
  watched.on("data", (change) => heard.push(change.type));
  await withTimeout(watched.ensureSubscribedNow(), "changes subscription");

  let session = store.openSession();
  const hilo = new User("Hilo", 1);
  await session.store(hilo);
  await session.store(new User("Ann", 30), "users/1");
  await session.store(new User("Nine", 9), "users/9");
  session.advanced.attachments.store("users/1", "notes.txt", Buffer.from("hello node"), "text/plain");
  await session.saveChanges();
  seen.hiloId = hilo.id;

  const patch = PatchRequest.forScript("this.age += args.n; this.tag = $tag;");
  patch.values = { n: 1, tag: "node" };
  const patched = await store.operations.send(new PatchOperation("users/1", null, patch, null, false));
  seen.patchStatus = patched.status;

  session = store.openSession();
  const ann = await session.load("users/1");
  session.advanced.increment(ann, "age", 5);
  await session.saveChanges();
  seen.ageAfterIncrement = ann.age;

  session = store.openSession();
  const attachment = await session.advanced.attachments.get("users/1", "notes.txt");
  seen.attachment = await streamText(attachment.data);
  seen.attachmentType = attachment.details.contentType;
  attachment.dispose();

  session = store.openSession();
  const lazyUser = session.advanced.lazily.load("users/9");
  const lazyCount = session.query({ collection: "Users" }).countLazily();
  await session.advanced.eagerly.executeAllPendingLazyOperations();
  seen.lazy = { name: (await lazyUser.getValue()).name, count: await lazyCount.getValue(),
    requests: session.advanced.numberOfRequests };

  const clusterWide = store.openSession({ transactionMode: "ClusterWide", disableAtomicDocumentWritesInClusterWideTransaction: true });
  clusterWide.advanced.clusterTransaction.createCompareExchangeValue("emails/ann", "users/1");
  await clusterWide.saveChanges();
  const value = await store.operations.send(new GetCompareExchangeValueOperation("emails/ann"));
  seen.compareExchange = value.value;
  const refused = await store.operations.send(new PutCompareExchangeValueOperation("emails/ann", "users/2", 0));
  seen.compareExchangeRefused = !refused.successful;

  session = store.openSession();
  const person = new User("Person", 1);
  await session.store(person, "people|");
  await session.saveChanges();
  seen.identityId = person.id;
  seen.nextIdentity = await store.maintenance.send(new NextIdentityForOperation("people"));

  const operation = await store.operations.send(
    new PatchByQueryOperation("from Users where age > 20 update { this.adult = true; }"));
  await withTimeout(operation.waitForCompletion(), "patch by query");
  session = store.openSession();
  seen.adult = (await session.load("users/1")).adult === true;

  const statistics = await store.maintenance.send(new GetDetailedStatisticsOperation());
  seen.statistics = { identities: statistics.countOfIdentities, compareExchange: statistics.countOfCompareExchange,
    attachments: statistics.countOfAttachments };

  const deadline = Date.now() + 15000;
  while (heard.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  seen.changes = heard;
  changes.dispose();
  console.log(JSON.stringify(seen));
} catch (error) {
  console.log(JSON.stringify({ error: `${error.name}: ${error.message}`, seen }));
} finally {
  store.dispose();
}
