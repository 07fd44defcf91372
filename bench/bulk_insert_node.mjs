// store.bulkInsert() through the official RavenDB Node.js client (installed by scripts/node-client),
// for bench/bulk_insert.py. Usage: node bulk_insert_node.mjs <url> <database> <count>
// Prints one JSON line: {"rate": documents per second}.
import { createRequire } from "node:module";

const require = createRequire(new URL("../tests/node/package.json", import.meta.url));
const { DocumentStore } = require("ravendb");

const [url, database, countText] = process.argv.slice(2);
const count = Number(countText);
const store = new DocumentStore(url, database);
store.initialize();
try {
  const started = performance.now();
  const bulk = store.bulkInsert();
  for (let n = 0; n < count; n++) {
    await bulk.store({ Name: `Product ${n}`, PricePerUnit: n * 1.5, Category: `categories/${n % 8 + 1}-A`,
                       UnitsInStock: n % 100 }, `products/${n}-A`, { "@collection": "Products" });
  }
  await bulk.finish();
  console.log(JSON.stringify({ rate: count / ((performance.now() - started) / 1000) }));
} finally {
  store.dispose();
}
