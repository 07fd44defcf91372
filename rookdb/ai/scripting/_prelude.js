// The script API of an embeddings generation task (RavenDB's text/markdown/html helpers,
// withContextPrefix and embeddings.generate), evaluated once per V8 context by the script host (_engine.py).
//
// Nothing is chunked here: each helper returns a frozen request that Python chunks later.
// The user's script is installed with __rookdbInstall and run per document with __rookdbRun,
// which answers a JSON string so one engine round trip carries the whole result.
(function () {
  'use strict';

  const DEFAULT_MAX_TOKENS = 512;
  const DEFAULT_OVERLAP_TOKENS = 0;
  const GENERATE_SIGNATURE = 'embeddings.generate(object)';
  const PREFIX_SIGNATURE = 'withContextPrefix(prefix)';

  // Kept here so a script that reassigns JSON's methods cannot break the document round trip.
  const parseJson = JSON.parse;
  const stringifyJson = JSON.stringify;

  let userFunction = null;
  let currentRun = null;

  // Short, never-throwing rendering of a value for error messages.
  function describe(value) {
    if (value === null) return 'null';
    if (value === undefined) return 'undefined';
    if (Array.isArray(value)) return 'an array';
    if (typeof value === 'string') {
      return 'string ' + JSON.stringify(value.length > 40 ? value.slice(0, 40) + '...' : value);
    }
    if (typeof value === 'object') return 'an object';
    try {
      return typeof value + ' ' + String(value);
    } catch (e) {
      return typeof value;
    }
  }

  function checkPrefix(prefix) {
    if (typeof prefix !== 'string') {
      throw new TypeError(PREFIX_SIGNATURE + ': the prefix must be a string, got ' + describe(prefix));
    }
    // RavenDB trims trailing whitespace and joins prefix and chunk with exactly one space.
    const trimmed = prefix.trimEnd();
    if (trimmed.trim().length === 0) {
      throw new RangeError(PREFIX_SIGNATURE + ': the prefix must not be empty or whitespace only');
    }
    return trimmed;
  }

  function checkTokens(signature, name, value, minimum) {
    if (typeof value !== 'number' || Number.isNaN(value)) {
      throw new TypeError(signature + ': ' + name + ' must be a number, got ' + describe(value));
    }
    if (value < minimum) {
      const rule = minimum === 0 ? 'must not be negative' : 'must be at least ' + minimum;
      throw new RangeError(signature + ': ' + name + ' ' + rule + ', got ' + value);
    }
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(signature + ': ' + name + ' must be a whole number, got ' + value);
    }
    return value;
  }

  // A chunking request: which texts, which method, how many tokens; optionally a prefix.
  class ChunkRequest {
    constructor(method, texts, maxTokens, overlapTokens, prefix) {
      this.method = method;
      this.texts = texts;
      this.maxTokens = maxTokens;
      this.overlapTokens = overlapTokens;
      this.prefix = prefix;
      Object.freeze(this);
    }

    withContextPrefix(prefix) {
      // A copy, so one request can be reused with and without a prefix.
      return new ChunkRequest(this.method, this.texts, this.maxTokens, this.overlapTokens, checkPrefix(prefix));
    }
  }

  // A raw string or array with its own prefix, embedded with the task's default chunking.
  class PrefixedValue {
    constructor(value, prefix) {
      this.value = value;
      this.prefix = prefix;
      Object.freeze(this);
    }

    withContextPrefix(prefix) {
      return new PrefixedValue(this.value, checkPrefix(prefix));
    }
  }

  // What embeddings.generate returns: only its object-wide prefix can be set.
  class GenerateResult {
    #call;

    constructor(call) {
      this.#call = call;
    }

    withContextPrefix(prefix) {
      this.#call.prefix = checkPrefix(prefix);
      return this;
    }
  }

  function collectTexts(signature, value) {
    if (value === null || value === undefined) return [];
    if (typeof value === 'string') return [value];
    if (!Array.isArray(value)) {
      throw new TypeError(signature + ': the first argument must be a string or an array of strings, got '
        + describe(value));
    }
    const texts = [];
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item === null || item === undefined) continue;
      if (typeof item !== 'string') {
        throw new TypeError(signature + ': element ' + i + ' of the array must be a string, got ' + describe(item));
      }
      texts.push(item);
    }
    return texts;
  }

  function chunker(name, method, takesOverlap) {
    const signature = name + (takesOverlap
      ? '(text | [text], maxTokens?, overlapTokens?)'
      : '(text | [text], maxTokens?)');
    const maxArguments = takesOverlap ? 3 : 2;
    return function (value, maxTokens, overlapTokens) {
      if (arguments.length < 1 || arguments.length > maxArguments) {
        throw new TypeError(signature + ' takes 1 to ' + maxArguments + ' arguments, got ' + arguments.length);
      }
      const texts = collectTexts(signature, value);
      const max = maxTokens === undefined ? DEFAULT_MAX_TOKENS : checkTokens(signature, 'maxTokens', maxTokens, 1);
      const overlap = overlapTokens === undefined
        ? DEFAULT_OVERLAP_TOKENS
        : checkTokens(signature, 'overlapTokens', overlapTokens, 0);
      if (overlap >= max) {
        throw new RangeError(signature + ': overlapTokens (' + overlap + ') must be less than maxTokens ('
          + max + ')');
      }
      return new ChunkRequest(method, Object.freeze(texts), max, overlap, null);
    };
  }

  function source(texts, chunk, prefix) {
    return { texts: texts, chunk: chunk, prefix: prefix };
  }

  // Flattens an array field value into sources; consecutive raw strings share one source.
  function collectArray(field, array, inheritedPrefix, sources) {
    let raw = null;
    for (let i = 0; i < array.length; i++) {
      const item = array[i];
      if (item === null || item === undefined) continue;
      if (typeof item === 'string') {
        if (raw === null) {
          raw = source([], null, inheritedPrefix);
          sources.push(raw);
        }
        raw.texts.push(item);
        continue;
      }
      raw = null;
      if (item instanceof ChunkRequest) {
        if (item.texts.length > 0) sources.push(source(item.texts.slice(), item, item.prefix ?? inheritedPrefix));
      } else if (item instanceof PrefixedValue) {
        collectPrefixed(field, item, sources);
      } else {
        throw new TypeError(GENERATE_SIGNATURE + ": element " + i + " of field '" + field
          + "' must be a string or the result of a text/markdown/html function, got " + describe(item));
      }
    }
  }

  function collectPrefixed(field, wrapped, sources) {
    if (typeof wrapped.value === 'string') {
      sources.push(source([wrapped.value], null, wrapped.prefix));
    } else {
      collectArray(field, wrapped.value, wrapped.prefix, sources);
    }
  }

  // One field of one generate call: chunk requests replace the field, raw values add to it
  // (how RavenDB merges repeated embeddings.generate calls for the same document).
  function resolveField(field, value) {
    const sources = [];
    if (value === null || value === undefined) return null;
    if (value instanceof ChunkRequest) {
      if (value.texts.length === 0) return null;
      sources.push(source(value.texts.slice(), value, value.prefix));
      return { replace: true, sources: sources };
    }
    if (typeof value === 'string') {
      sources.push(source([value], null, null));
    } else if (Array.isArray(value)) {
      collectArray(field, value, null, sources);
    } else if (value instanceof PrefixedValue) {
      collectPrefixed(field, value, sources);
    } else {
      throw new TypeError(GENERATE_SIGNATURE + ": field '" + field + "' must be a string, an array of strings "
        + 'or the result of a text/markdown/html function, got ' + describe(value));
    }
    return { replace: false, sources: sources };
  }

  function generate(fields) {
    if (currentRun === null) {
      throw new Error(GENERATE_SIGNATURE + ' can only be called while a document is processed');
    }
    if (arguments.length !== 1) {
      throw new TypeError(GENERATE_SIGNATURE + ' takes exactly 1 argument, got ' + arguments.length);
    }
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)
        || fields instanceof ChunkRequest || fields instanceof PrefixedValue) {
      throw new TypeError(GENERATE_SIGNATURE + ': the argument must be an object whose keys are field names, got '
        + describe(fields));
    }
    const call = { prefix: null, fields: [] };
    // Resolved now, so a bad field value is reported at the line of this call.
    for (const name of Object.keys(fields)) {
      const resolved = resolveField(name, fields[name]);
      if (resolved !== null) call.fields.push([name, resolved]);
    }
    currentRun.calls.push(call);
    return new GenerateResult(call);
  }

  function finish(run) {
    const merged = new Map();
    for (const call of run.calls) {
      for (const [name, resolved] of call.fields) {
        const sources = resolved.sources.map(function (s) {
          return {
            texts: s.texts,
            method: s.chunk === null ? null : s.chunk.method,
            maxTokens: s.chunk === null ? null : s.chunk.maxTokens,
            overlapTokens: s.chunk === null ? null : s.chunk.overlapTokens,
            // Precedence: the value's own prefix (already resolved) over the generate-wide one.
            prefix: s.prefix ?? call.prefix,
          };
        });
        if (resolved.replace || !merged.has(name)) {
          merged.set(name, sources);
        } else {
          merged.set(name, merged.get(name).concat(sources));
        }
      }
    }
    const fields = [];
    for (const [name, sources] of merged) {
      if (sources.length > 0) fields.push([name, sources]);
    }
    // Pairs, not an object: JavaScript would reorder integer-like field names.
    return { generated: run.calls.length > 0, fields: fields };
  }

  function describeError(error) {
    try {
      if (error instanceof Error) {
        return { name: String(error.name), message: String(error.message), stack: String(error.stack) };
      }
      return { name: 'Uncaught', message: describe(error), stack: '' };
    } catch (e) {
      return { name: 'Uncaught', message: 'a value that cannot be described', stack: '' };
    }
  }

  function define(target, name, value) {
    Object.defineProperty(target, name, { value: value, writable: false, enumerable: false, configurable: false });
  }

  define(String.prototype, 'withContextPrefix', function (prefix) {
    return new PrefixedValue(String(this), checkPrefix(prefix));
  });
  define(Array.prototype, 'withContextPrefix', function (prefix) {
    return new PrefixedValue(Array.from(this), checkPrefix(prefix));
  });

  define(globalThis, 'text', Object.freeze({
    split: chunker('text.split', 'PlainTextSplit', false),
    splitLines: chunker('text.splitLines', 'PlainTextSplitLines', false),
    splitParagraphs: chunker('text.splitParagraphs', 'PlainTextSplitParagraphs', true),
  }));
  define(globalThis, 'markdown', Object.freeze({
    splitLines: chunker('markdown.splitLines', 'MarkDownSplitLines', false),
    splitParagraphs: chunker('markdown.splitParagraphs', 'MarkDownSplitParagraphs', true),
  }));
  define(globalThis, 'html', Object.freeze({
    strip: chunker('html.strip', 'HtmlStrip', false),
  }));
  define(globalThis, 'embeddings', Object.freeze({ generate: generate }));

  // mini-racer installs timers; a callback firing during a later run would add to another document.
  // (They are non-configurable globals: only their value and writability may change.)
  for (const name of ['setTimeout', 'clearTimeout']) {
    Object.defineProperty(globalThis, name, {
      value: function () {
        throw new TypeError(name + ' is not available in embeddings scripts');
      },
      writable: false,
    });
  }

  define(globalThis, '__rookdbInstall', function (fn) {
    userFunction = fn;
  });

  // Compiling the body alone proves the script did not close the wrapper it was installed with.
  define(globalThis, '__rookdbCheckBody', function (body) {
    try {
      new Function(body);
      return null;
    } catch (e) {
      const error = describeError(e);
      return error.name + ': ' + error.message;
    }
  });

  define(globalThis, '__rookdbRun', function (documentJson) {
    const document = parseJson(documentJson);
    currentRun = { calls: [] };
    try {
      userFunction.call(document);
      return stringifyJson({ ok: true, output: finish(currentRun) });
    } catch (e) {
      return stringifyJson({ ok: false, error: describeError(e) });
    } finally {
      currentRun = null;
    }
  });
})();
