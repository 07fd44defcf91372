"""Running an embeddings task's JavaScript against a document, within a time and a memory limit.

The script sees the document (with ``@metadata``) as ``this`` and RavenDB's embeddings script API
(chunking and context prefixes): ``text.split``/``splitLines``/``splitParagraphs``, ``markdown.splitLines``/
``splitParagraphs``, ``html.strip``, ``.withContextPrefix(prefix)`` on their results, on strings, on
arrays and on ``embeddings.generate({...})``. The helpers only *describe* chunking (``maxTokens``
defaults to 512, ``overlapTokens`` to 0); the texts come back as `FieldSource` values and are chunked
later, in Python.

Rules decided here:

- ``embeddings.generate`` never called: ``ScriptOutput(generated=False)``, nothing to embed.
- Called more than once: merged per field the way RavenDB merges them, i.e. a chunking result
  replaces what earlier calls gave that field and a raw string or array is added to it.
- null/undefined (fields, array elements, helper arguments) are skipped; a field left without text is
  omitted. Other non-string raw values (numbers, objects) are errors, as in RavenDB.
- Context prefix: a value's own prefix wins over the prefix of the array holding it, which wins over
  the one on ``embeddings.generate(...)``. Prefixes come back with trailing whitespace trimmed.

Limits of the sandbox: timers are not available, and ``embeddings.generate`` called from a promise
callback runs after the document is done and is ignored.

Modules: ``output`` (what a run asked to embed), ``script`` (`EmbeddingsScript`, which runs the
script in a child script host process), ``cache`` (compiled scripts kept for reuse); inside the
host, ``_engine`` (V8) behind ``_host``; ``_frames`` is the wire between the two processes and
``_prelude`` the contract with the JavaScript prelude.
"""

from rookdb.ai.scripting.cache import clear_script_cache, run_embeddings_script
from rookdb.ai.scripting.output import CHUNKING_METHODS, ChunkingMethod, ChunkingRequest, FieldSource, ScriptOutput
from rookdb.ai.scripting.script import EmbeddingsScript

__all__ = [
    "CHUNKING_METHODS",
    "ChunkingMethod",
    "ChunkingRequest",
    "EmbeddingsScript",
    "FieldSource",
    "ScriptOutput",
    "clear_script_cache",
    "run_embeddings_script",
]
