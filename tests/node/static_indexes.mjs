// Static indexes through the official RavenDB Node.js client, for the Python test suite.
// Usage: node static_indexes.mjs <module: ravendb> <url> <database>
// Defines a JavaScript index (map with load() and createVector()) and a C# LINQ index with a vector
// field (CreateVector over float arrays, Dimensions and embedding types set from the client), queries
// both (where, vector search with a similarity, vector search beside a where clause) and prints one
// JSON line with what the client saw, or {"error": ...} with the first failure.
const [moduleName, url, database] = process.argv.slice(2);
const ravendb = await import(moduleName);
const {
  DocumentStore, AbstractCsharpIndexCreationTask, AbstractJavaScriptIndexCreationTask, IndexCreation,
  GetIndexOperation, GetIndexStatisticsOperation,
} = ravendb;

class Movies_ByVector extends AbstractCsharpIndexCreationTask {
  constructor() {
    super();
    this.map = "from m in docs.Movies select new { m.Genre, Embedding = CreateVector(m.Embedding) }";
    this.vectorField("Embedding", { dimensions: 3, sourceEmbeddingType: "Single", destinationEmbeddingType: "Single" });
  }
}

class Movies_ByStudio extends AbstractJavaScriptIndexCreationTask {
  constructor() {
    super();
    const { load, createVector } = this.mapUtils();
    this.map("Movies", (movie) => {
      const studio = load(movie.Studio, "Studios");
      return { StudioName: studio ? studio.Name : null, Genre: movie.Genre, Embedding: createVector(movie.Embedding) };
    });
  }
}

const movies = [
  ["movies/1", "Drama", "studios/1", [1, 0, 0]],
  ["movies/2", "Comedy", "studios/1", [0.9, 0.1, 0]],
  ["movies/3", "Drama", "studios/2", [0, 1, 0]],
  ["movies/4", "Horror", "studios/2", [0, 0, 1]],
];

function ids(results) {
  return results.map((result) => result.id).sort();
}

const store = new DocumentStore(url, database);
store.initialize();
const seen = {};
try {
  let session = store.openSession();
  await session.store({ Name: "Pinewood", "@metadata": { "@collection": "Studios" } }, "studios/1");
  await session.store({ Name: "Babelsberg", "@metadata": { "@collection": "Studios" } }, "studios/2");
  for (const [id, genre, studio, embedding] of movies) {
    await session.store({ Genre: genre, Studio: studio, Embedding: embedding, "@metadata": { "@collection": "Movies" } }, id);
  }
  await session.saveChanges();

  await IndexCreation.createIndexes([new Movies_ByVector(), new Movies_ByStudio()], store);
  const linq = await store.maintenance.send(new GetIndexOperation("Movies/ByVector"));
  const javascript = await store.maintenance.send(new GetIndexOperation("Movies/ByStudio"));
  seen.types = [linq.type, javascript.type];
  seen.vectorOptions = linq.fields.Embedding.vector;

  session = store.openSession();
  seen.nearFirst = ids(await session.query({ indexName: "Movies/ByVector" })
    .vectorSearch((field) => field.withField("Embedding"), [1, 0, 0], { similarity: 0.9 })
    .waitForNonStaleResults()
    .all());
  seen.nearFirstDrama = ids(await session.query({ indexName: "Movies/ByVector" })
    .whereEquals("Genre", "Drama")
    .andAlso()
    .vectorSearch((field) => field.withField("Embedding"), [0.1, 1, 0], { similarity: 0.8 })
    .all());
  seen.byStudio = ids(await session.query({ indexName: "Movies/ByStudio" })
    .whereEquals("StudioName", "Babelsberg")
    .waitForNonStaleResults()
    .all());
  seen.byStudioVector = ids(await session.query({ indexName: "Movies/ByStudio" })
    .vectorSearch((field) => field.withField("Embedding"), [0, 0, 1], { similarity: 0.95 })
    .all());

  // The related document changes: the JavaScript index follows it.
  await session.load("studios/2");
  (await session.load("studios/2")).Name = "Studio Babelsberg";
  await session.saveChanges();
  session = store.openSession();
  seen.afterRename = ids(await session.query({ indexName: "Movies/ByStudio" })
    .whereEquals("StudioName", "Studio Babelsberg")
    .waitForNonStaleResults()
    .all());

  const stats = await store.maintenance.send(new GetIndexStatisticsOperation("Movies/ByStudio"));
  seen.entries = stats.entriesCount;
} catch (error) {
  seen.error = `${error.name}: ${error.message}`;
} finally {
  store.dispose();
}
console.log(JSON.stringify(seen));
