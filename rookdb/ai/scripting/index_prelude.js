// The script API of JavaScript indexes (RavenDB's map, groupBy(...).aggregate(...), load, id,
// getMetadata, createField, createVector, loadVector), evaluated once per V8 context by the script
// host. The index's maps and reduce are then evaluated as plain scripts that register themselves;
// __rookdbIndex answers one request (JSON in, JSON out) for a list of items (documents to map, outputs
// to key, groups to reduce), each answered on its own, so one engine call carries a whole batch.
//
// load() cannot reach the database from here: a map that loads a document it was not given stops
// with a marker, the answer lists what it needs, and the server runs it again with those documents.
(function () {
  'use strict';

  const parseJson = JSON.parse;
  const stringifyJson = JSON.stringify;
  const maps = [];
  let reduce = null;
  let currentMapText = 0;
  let loaded = null;
  let needed = null;
  const NEED = {};

  function define(name, value) {
    Object.defineProperty(globalThis, name, { value: value, writable: false, configurable: false });
  }

  define('map', function (collection, fn) {
    if (typeof fn !== 'function') {
      throw new TypeError('map(collection, function): the second argument must be a function');
    }
    if (typeof collection !== 'string') {
      throw new TypeError('map(collection, function): the collection must be a string');
    }
    maps.push({ collection: collection, fn: fn, text: currentMapText });
  });

  define('groupBy', function (keyFn) {
    if (typeof keyFn !== 'function') {
      throw new TypeError('groupBy(function): the argument must be a function');
    }
    return {
      aggregate: function (aggregateFn) {
        if (typeof aggregateFn !== 'function') {
          throw new TypeError('groupBy(...).aggregate(function): the argument must be a function');
        }
        reduce = { key: keyFn, aggregate: aggregateFn };
      },
    };
  });

  define('load', function (id, collection) {
    if (id === null || id === undefined) return null;
    if (typeof id !== 'string') {
      throw new TypeError('load(id, collection): the id must be a string');
    }
    const key = id.toLowerCase();
    if (loaded !== null && Object.prototype.hasOwnProperty.call(loaded, key)) {
      const found = loaded[key];
      return found === null ? null : parseJson(stringifyJson(found));
    }
    needed.push(id);
    throw NEED;
  });

  define('id', function (doc) {
    if (doc === null || doc === undefined) return null;
    const metadata = doc['@metadata'];
    return metadata ? (metadata['@id'] === undefined ? null : metadata['@id']) : null;
  });

  define('getMetadata', function (doc) {
    return doc === null || doc === undefined ? null : (doc['@metadata'] || null);
  });
  define('metadataFor', globalThis.getMetadata);

  define('createField', function (name, value, options) {
    if (typeof name !== 'string') {
      throw new TypeError('createField(name, value, options): the name must be a string');
    }
    return { '@rookdb': 'field', name: name, value: value === undefined ? null : value,
             options: options === undefined ? null : options };
  });

  define('createVector', function (value) {
    return { '@rookdb': 'vector', value: value === undefined ? null : value };
  });

  define('loadVector', function (field, task, related) {
    if (typeof field !== 'string' || typeof task !== 'string') {
      throw new TypeError('loadVector(field, taskIdentifier[, document]): field and task must be strings');
    }
    const source = related === undefined ? currentDocument : related;
    let sourceId = null;
    if (typeof source === 'string') sourceId = source;
    else if (source && source['@metadata']) sourceId = source['@metadata']['@id'] || null;
    return { '@rookdb': 'vector', value: field, task: task, source: sourceId };
  });

  let currentDocument = null;

  function failure(error) {
    if (error instanceof Error) {
      return { error: { name: error.name, message: error.message, stack: String(error.stack || '') } };
    }
    return { error: { name: 'Error', message: String(error), stack: '' } };
  }

  function outputsOf(result) {
    if (result === null || result === undefined) return [];
    const listed = Array.isArray(result) ? result : [result];
    return listed.filter(function (item) { return item !== null && item !== undefined; });
  }

  function keyOf(output) {
    const key = reduce.key(output);
    return key === undefined ? null : key;
  }

  define('__rookdbMapText', function (index) { currentMapText = index; });

  function mapOne(registered, doc, given) {
    loaded = given || {};
    needed = [];
    currentDocument = doc;
    try {
      return { outputs: outputsOf(registered.fn(doc)) };
    } catch (error) {
      if (error === NEED || needed.length) return { needs: needed };
      return failure(error);
    } finally {
      currentDocument = null;
      loaded = null;
    }
  }

  function keyAnswer(output) {
    try {
      return { key: keyOf(output) };
    } catch (error) {
      return failure(error);
    }
  }

  function reduceAnswer(values) {
    try {
      return { results: outputsOf(reduce.aggregate({ key: keyOf(values[0]), values: values })) };
    } catch (error) {
      return failure(error);
    }
  }

  define('__rookdbIndex', function (requestJson) {
    const request = parseJson(requestJson);
    try {
      if (request.op === 'describe') {
        return stringifyJson({
          maps: maps.map(function (m) { return { collection: m.collection, text: m.text }; }),
          reduce: reduce !== null,
        });
      }
      let answer;
      if (request.op === 'map') {
        const registered = maps[request.map];
        answer = function (item) { return mapOne(registered, item.doc, item.loaded); };
      } else if (request.op === 'keys') {
        answer = keyAnswer;
      } else if (request.op === 'reduce') {
        answer = reduceAnswer;
      } else {
        return stringifyJson({ error: { name: 'Error', message: 'unknown request ' + request.op, stack: '' } });
      }
      return stringifyJson({ answers: request.items.map(function (item) { return answer(item); }) });
    } catch (error) {
      return stringifyJson(failure(error));
    }
  });
})();
