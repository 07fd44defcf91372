// RavenDB's patch API (this, args / $name, load, put, del, id, getMetadata, lastModified, cmpxchg,
// output), evaluated once per V8 context by the patch host (_host.py).
//
// Scripts are compiled once each with __rookdbCompile and run on batches of documents with
// __rookdbPatch, which answers one JSON string for the whole batch. Nothing here touches storage:
// documents that `load` and `cmpxchg` need come with the run, and `put`/`del` are recorded and
// applied by the server after the script succeeded. A run that asks for a document it was not
// given is marked incomplete and answered with what it needs; the server runs it again with those
// documents (scripts are deterministic apart from the clock).
(function () {
  'use strict';

  const parseJson = JSON.parse;
  const stringifyJson = JSON.stringify;
  const hasOwn = Object.prototype.hasOwnProperty;
  const scripts = new Map();
  let run = null;

  function copy(value) {
    return value === undefined || value === null ? null : parseJson(stringifyJson(value));
  }

  function render(value) {
    if (value === undefined) return 'undefined';
    if (typeof value === 'string') return value;
    try {
      return stringifyJson(value);
    } catch (e) {
      return String(value);
    }
  }

  function checkId(signature, id) {
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError(signature + ': the document id must be a non-empty string, got ' + render(id));
    }
  }

  function loadOne(id) {
    if (id === null || id === undefined) return null;
    checkId('load(id)', id);
    const key = id.toLowerCase();
    if (hasOwn.call(run.docs, key)) return copy(run.docs[key]);
    run.missingDocs.push(id);
    return null;
  }

  function metadataOf(signature, document) {
    if (document === null || typeof document !== 'object') {
      throw new TypeError(signature + ': expected a document, got ' + render(document));
    }
    let metadata = document['@metadata'];
    if (metadata === null || typeof metadata !== 'object') {
      metadata = {};
      document['@metadata'] = metadata;
    }
    return metadata;
  }

  const api = {
    load(idOrIds) {
      return Array.isArray(idOrIds) ? idOrIds.map(loadOne) : loadOne(idOrIds);
    },
    put(id, document, changeVector) {
      if (id === null || id === undefined) id = '';
      if (typeof id !== 'string') throw new TypeError('put(id, document): the id must be a string, got ' + render(id));
      if (document === null || typeof document !== 'object' || Array.isArray(document)) {
        throw new TypeError('put(id, document): the document must be an object, got ' + render(document));
      }
      const stored = copy(document);
      run.writes.push({ Type: 'PUT', Id: id, Document: stored, ChangeVector: changeVector === undefined ? null : changeVector });
      if (id !== '' && !id.endsWith('/') && !id.endsWith('|')) run.docs[id.toLowerCase()] = stored;
      return id;
    },
    del(id, changeVector) {
      checkId('del(id)', id);
      run.writes.push({ Type: 'DELETE', Id: id, ChangeVector: changeVector === undefined ? null : changeVector });
      run.docs[id.toLowerCase()] = null;
    },
    id(document) {
      return metadataOf('id(document)', document)['@id'] || null;
    },
    getMetadata(document) {
      return metadataOf('getMetadata(document)', document);
    },
    lastModified(document) {
      const stamp = metadataOf('lastModified(document)', document)['@last-modified'];
      return stamp ? Date.parse(stamp) : null;
    },
    cmpxchg(key) {
      if (typeof key !== 'string' || key.length === 0) {
        throw new TypeError('cmpxchg(key): the key must be a non-empty string, got ' + render(key));
      }
      const lower = key.toLowerCase();
      if (hasOwn.call(run.cmpxchg, lower)) return copy(run.cmpxchg[lower]);
      run.missingCmpxchg.push(key);
      return null;
    },
    output(...values) {
      run.output.push(values.map(render).join(' '));
    },
  };
  api.deleteDocument = api.del;
  api.console = { log: api.output };
  for (const name of Object.keys(api)) globalThis[name] = api[name];

  globalThis.__rookdbCompile = function (compiled, scriptId) {
    scripts.set(scriptId, compiled);
  };

  globalThis.__rookdbForget = function (scriptId) {
    scripts.delete(scriptId);
  };

  function errorOf(error) {
    if (error instanceof Error) {
      return { message: error.name + ': ' + error.message, stack: String(error.stack || '') };
    }
    return { message: 'Error: ' + render(error), stack: '' };
  }

  // runs: [{doc, docs: {lower id: document or null}, cmpxchg: {lower key: value or null}}]
  globalThis.__rookdbPatch = function (scriptId, argsJson, runsJson) {
    const compiled = scripts.get(scriptId);
    const args = parseJson(argsJson);
    const runs = parseJson(runsJson);
    const answers = [];
    const names = Object.keys(args);
    for (const name of names) globalThis['$' + name] = args[name];
    try {
      for (const item of runs) {
        run = { docs: item.docs || {}, cmpxchg: item.cmpxchg || {}, missingDocs: [], missingCmpxchg: [],
                writes: [], output: [] };
        const document = item.doc;
        let answer;
        try {
          compiled.call(document, args);
          answer = { doc: document };
        } catch (error) {
          answer = { error: errorOf(error) };
        }
        if (run.missingDocs.length > 0 || run.missingCmpxchg.length > 0) {
          answer = { need: { docs: run.missingDocs, cmpxchg: run.missingCmpxchg } };
        } else {
          answer.writes = run.writes;
          answer.output = run.output;
        }
        answers.push(answer);
      }
    } finally {
      for (const name of names) delete globalThis['$' + name];
      run = null;
    }
    return stringifyJson(answers);
  };
})();
