"""``WriteTransaction.edit_fields`` on SQLite: patch by query as a few set-based statements per batch.

Each row keeps, in its ``shape`` column, what a patch needs to know of its body (``body_shape``,
computed when the row is written): ``[]`` when JavaScript's JSON round trip leaves the body as it is,
the integral floats the round trip turns into integers as ``[[path, value], ...]``, NULL when only a
look at the body in the batch may tell (the classification below). Most batches are then one
``UPDATE``: every listed document that has a shape and certainly changes is rewritten, taking the etag
of its place in the list; when that is not every listed document (one is missing, unchanged, or needs
a look at its body), the statement is rolled back and the batch classified as follows.

No document is parsed in Python. A scan of the batch's bytes and one statement (JSON functions over
the stored text) classify every listed document: unchanged, changed, or needing the general path; a
second numbers the changed ones in list order; then one ``UPDATE`` per shape of document rewrites
their bodies with ``json_set``/``json_remove`` and stamps etag, change vector and ``@last-modified``.

Why the result is byte for byte what the general path stores (parse, edit, JavaScript's JSON round
trip, ``replace_many``): SQLite copies the text of every value it does not touch, and stored bodies
are orjson's compact JSON, so untouched values keep their bytes; new values go in as orjson's text.
What the round trip would change is handled or refused per document: a float with an integral value
(``3.0``) becomes the integer it reads back as, below 1e15; larger integral floats, integers beyond
2**53 and integer-like keys (JavaScript moves those first) send the batch to the general path. The
metadata must end with ``@id``, ``@change-vector``, ``@last-modified`` and hold no other server-owned
key, and the document no attachment: then stamping in place keeps the key order the general path
writes.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from rookdb.storage.base import FieldEdit
from rookdb.storage.javascript_shape import LARGEST_EXACT_INTEGER, js_changes
from rookdb.storage.metadata import SERVER_OWNED_KEYS, change_vector
from rookdb.storage.rows import EditedRow
from rookdb.wire import CHANGE_VECTOR, LAST_MODIFIED

__all__ = ["body_shape", "edit_documents"]

_MAX_SHAPES = 16
"""Distinct sets of integral floats among a batch's changed documents: one ``UPDATE`` each."""
_MAX_PAIRS = 60
"""Paths one ``json_set`` may set (SQLite takes at most 127 arguments per function call)."""
_SEPARATOR = "\x1f"
_FAST_FIXES = 4
"""Integral floats a document may hold and still be rewritten by the one-statement path."""
_PLAIN_SHAPE = "[]"
_LARGEST_FIXED_FLOAT = 1e15
"""From here on an integral float's integer may be inexact: such documents are classified per batch."""
_KEY_SETS = 1024
"""Objects' key sets whose member paths are kept: the documents of a collection repeat theirs."""
_UNCHANGED, _CHANGED, _GENERAL = 0, 1, 2

_TABLES = (
    "CREATE TEMP TABLE IF NOT EXISTS field_edit_rows (pos INTEGER PRIMARY KEY, lower_id TEXT NOT NULL, "
    "state INTEGER NOT NULL, fixes TEXT)",
    # Rows are numbered from 1 in insertion order: the changed documents' etags, less the last one.
    "CREATE TEMP TABLE IF NOT EXISTS field_edit_changes (n INTEGER PRIMARY KEY, lower_id TEXT NOT NULL, "
    "fixes TEXT NOT NULL)",
)

# Server-owned metadata keys that the general path drops and puts back last. A body naming one anywhere
# takes that path (outside metadata such keys occur in practice nowhere).
_GENERAL_KEYS = SERVER_OWNED_KEYS - {"@id", CHANGE_VECTOR, LAST_MODIFIED}
_SERVER_KEY = re.compile(b'"(?:' + b"|".join(re.escape(key.encode()) for key in sorted(_GENERAL_KEYS)) + b')":')
_PLAIN, _NUMBERS, _GENERAL_KIND = 0, 1, 2
# The keys the metadata ends with once stamped.
_STAMPED = ("@id", CHANGE_VECTOR, LAST_MODIFIED)


def _body_kind(body: bytes) -> int:
    """What the bytes of a stored body show: plain, numbers JavaScript may change (to look at in the
    parsed tree), or the general path's business (a server-owned key, an integer-like key)."""
    if _SERVER_KEY.search(body) is not None:
        return _GENERAL_KIND
    numbers, keys = js_changes(body)
    return _GENERAL_KIND if keys else _NUMBERS if numbers else _PLAIN


def _body_kinds(db: sqlite3.Connection, listed: str, database_id: str) -> str:
    """The kind of each listed document, one digit per position of ``listed`` (a JSON array of ids).

    Scanning bytes is several times faster in Python than with SQLite's text searches, and the
    bodies are only scanned, never parsed: most batches are plain as a whole, found with one scan of
    all their bodies at once. The database id is left out (change vectors hold it): it is random text
    that often reads like a number with an exponent."""
    rows = db.execute("SELECT b.key, d.body FROM json_each(?) AS b CROSS JOIN main.documents AS d "
                      "ON d.lower_id = b.value", (listed,)).fetchall()
    kinds = bytearray(b"0" * (max((position for position, _ in rows), default=-1) + 1))
    noise = database_id.encode()
    if _body_kind(b"\0".join(body for _, body in rows).replace(noise, b"")) != _PLAIN:
        for position, body in rows:
            kinds[position] = ord("0") + _body_kind(bytes(body).replace(noise, b""))
    return kinds.decode()


_INTEGRAL_FLOAT = "j.type = 'real' AND j.atom = CAST(j.atom AS INTEGER)"
# Numbers the round trip would change that no edit here mends: integers beyond 2**53, integral floats
# from 1e15 on (below, the integer they become is exact).
_HAZARD = (f"(j.type = 'integer' AND (j.atom > {LARGEST_EXACT_INTEGER} OR j.atom < -{LARGEST_EXACT_INTEGER})) "
           f"OR ({_INTEGRAL_FLOAT} AND abs(j.atom) >= {_LARGEST_FIXED_FLOAT:.0f})")
# The paths of the integral floats (char 31 between them), '' for none, NULL when the document needs
# the general path. (The kinds are bound as a text of digits. json_tree builds its key and path columns
# per row on demand, so only the numbers' rows are looked at.)
_FIXES = (f"CASE CAST(substr(?, b.key + 1, 1) AS INTEGER) WHEN {_PLAIN} THEN '' WHEN {_NUMBERS} THEN "
          f"(SELECT CASE WHEN max({_HAZARD}) THEN NULL ELSE coalesce(group_concat(CASE WHEN {_INTEGRAL_FLOAT} "
          "THEN j.fullkey END, char(31)), '') END FROM json_tree(CAST(d.body AS TEXT)) AS j "
          "WHERE j.type IN ('integer', 'real')) END")
# The metadata ends with the three keys the server stamps, in the order it stamps them. The current
# change vector occurs nowhere else in a body (a copy of the metadata holds an older one), so finding
# this text anywhere means it closes the metadata. (Change vectors and timestamps hold nothing that
# JSON escapes.)
_TAIL = (f"'\"@id\":' || json_quote(d.id) || ',\"{CHANGE_VECTOR}\":\"' || d.change_vector "
         f"|| '\",\"{LAST_MODIFIED}\":\"' || d.last_modified || '\"}}'")
_ROOT = "$.\"@metadata\""
_STAMPS = f"'{_ROOT}.\"{CHANGE_VECTOR}\"', {{vector}}, '{_ROOT}.\"{LAST_MODIFIED}\"', ?"


def _path(path: Sequence[str]) -> str:
    return "$" + "".join(f'."{key}"' for key in path)


# A character a quoted JSON path step cannot name a key with, as SQLite compares it (its stored text).
_UNNAMEABLE = re.compile(r'["\\\x00-\x1f]')


@functools.lru_cache(maxsize=_KEY_SETS)
def _member_paths(keys: tuple[str, ...], path: str | None) -> tuple[str | None, ...] | None:
    """The path of each member of an object with ``keys`` at ``path`` (None where no JSON path names it);
    None when a key makes the body the general path's business (``_body_kind``): a server-owned key, or
    an integer-like key JavaScript would move first."""
    if not _GENERAL_KEYS.isdisjoint(keys) or any(key.isdigit() and key.isascii() for key in keys):
        return None
    return tuple(f'{path}."{key}"' if path is not None and key and _UNNAMEABLE.search(key) is None else None
                 for key in keys)


def _integral_floats(value: Any, path: str | None, found: list[list[Any]]) -> bool:
    """Add ``[path, integer]`` to ``found`` for each integral float in ``value`` (``path`` None: no JSON
    path names it); False at a number JavaScript's round trip would change otherwise, or at a key that
    makes the body the general path's business."""
    kind = type(value)
    if kind is dict:
        paths = _member_paths(tuple(value), path)
        if paths is None:
            return False
        # Written out for the members (most are text): every document written to SQLite comes here.
        for item, member_path in zip(value.values(), paths, strict=True):
            member = type(item)
            if member is str or member is bool or item is None:
                continue
            if member is int:
                if abs(item) > LARGEST_EXACT_INTEGER:
                    return False
            elif member is float:
                if item.is_integer():
                    if member_path is None or abs(item) >= _LARGEST_FIXED_FLOAT:
                        return False
                    found.append([member_path, int(item)])
            elif not _integral_floats(item, member_path, found):
                return False
        return True
    if kind is list:
        return all(_integral_floats(item, None if path is None else f"{path}[{index}]", found)
                   for index, item in enumerate(value))
    if kind is float:
        if value.is_integer():
            if path is None or abs(value) >= _LARGEST_FIXED_FLOAT:
                return False
            found.append([path, int(value)])
        return True
    if kind is int:
        return bool(abs(value) <= LARGEST_EXACT_INTEGER)
    return True


def body_shape(body: dict[str, Any]) -> str | None:
    """The ``shape`` column of a row written with ``body``, as just stamped (see the module's docstring).

    Read off the parsed body the write encodes, not its bytes: no scan, no second parse."""
    metadata = body.get("@metadata")
    if type(metadata) is not dict or tuple(metadata)[-len(_STAMPED):] != _STAMPED:
        return None
    found: list[list[Any]] = []
    if not _integral_floats(body, "$", found):
        return None
    return orjson.dumps(found).decode() if found else _PLAIN_SHAPE


def _shape_after(edits: Sequence[FieldEdit]) -> str | None:
    """The shape of a document the edits rewrote (its integral floats are integers now)."""
    for edit in edits:
        value = edit.value
        if any(key in SERVER_OWNED_KEYS for key in edit.path) or (
                edit.operator == "set" and type(value) in (int, float)
                and (abs(value) > LARGEST_EXACT_INTEGER or (type(value) is float and value.is_integer()))):
            return None
    return _PLAIN_SHAPE


def _equal(edit: FieldEdit, doc: str, params: list[Any]) -> str:
    """SQL true when the field already holds the value ``edit`` sets (``true`` is not ``1``)."""
    path = _path(edit.path)
    value = edit.value
    params.append(path)
    if value is None or isinstance(value, bool):
        return f"json_type({doc}, ?) = '{'null' if value is None else str(value).lower()}'"
    if isinstance(value, str):
        params += [path, value]
        return f"(json_type({doc}, ?) = 'text' AND json_extract({doc}, ?) = ?)"
    if isinstance(value, int):
        params += [path, value]
        return f"(json_type({doc}, ?) IN ('integer', 'real') AND json_extract({doc}, ?) = ?)"
    # A float with a fraction: the same double has the same shortest text.
    params += [path, orjson.dumps(value).decode()]
    return f"(json_type({doc}, ?) = 'real' AND ({doc} -> ?) = ?)"


def _misfits(edits: Sequence[FieldEdit], doc: str, params: list[Any]) -> list[str]:
    """SQL conditions, one true when the edits need the general path on the document (a parent that is
    not an object, an integer out of JavaScript's range)."""
    misfits: list[str] = []
    for edit in edits:
        for depth in range(1, len(edit.path)):
            misfits.append(f"coalesce(json_type({doc}, ?) <> 'object', 1)")
            params.append(_path(edit.path[:depth]))
        if edit.operator == "add":
            path = _path(edit.path)
            misfits.append(f"coalesce(json_type({doc}, ?) <> 'integer' "
                           f"OR abs(json_extract({doc}, ?) + ?) > {LARGEST_EXACT_INTEGER}, 1)")
            params += [path, path, edit.value]
    return misfits


def _changes(edits: Sequence[FieldEdit], doc: str, params: list[Any], stored: str | None = None) -> list[str]:
    """SQL conditions, one true when the edits change the document. With ``stored`` (its bytes), the
    stored text is searched first for the key followed by the value set (scalars have one encoding,
    numbers aside): where it is missing, the document changes and is not parsed for it."""
    changes: list[str] = []
    for edit in edits:
        key = orjson.dumps(edit.path[-1]) + b":"
        if edit.operator == "add":
            if edit.value != 0:
                changes.append("1")
        elif edit.operator == "delete":
            found = f"json_type({doc}, ?) IS NOT NULL"
            if stored is not None:
                found = f"(instr({stored}, ?) > 0 AND {found})"
                params.append(key)
            changes.append(found)
            params.append(_path(edit.path))
        else:
            if stored is not None:
                params.append(key if type(edit.value) in (int, float) else key + orjson.dumps(edit.value))
            equal = _equal(edit, doc, params)
            changes.append(f"(instr({stored}, ?) = 0 OR NOT coalesce({equal}, 0))" if stored is not None
                           else f"NOT coalesce({equal}, 0)")
    return changes


def _classify(edits: Sequence[FieldEdit]) -> tuple[str, list[Any]]:
    """The statement filling ``field_edit_rows``; the kinds and the ids (a JSON array) are bound last."""
    params: list[Any] = []
    general = ["instr(doc, tail) = 0",
               "EXISTS (SELECT 1 FROM main.attachments AS a WHERE a.lower_doc_id = listed.lower_id)",
               *_misfits(edits, "doc", params)]
    changed = _changes(edits, "doc", params)
    sql = (
        "INSERT INTO temp.field_edit_rows (pos, lower_id, state, fixes) "
        f"SELECT pos, lower_id, CASE WHEN {' OR '.join(general)} THEN {_GENERAL} "
        f"WHEN {' OR '.join(changed) or '0'} THEN {_CHANGED} ELSE {_UNCHANGED} END, fixes FROM ("
        f"SELECT b.key AS pos, d.lower_id AS lower_id, CAST(d.body AS TEXT) AS doc, {_TAIL} AS tail, "
        f"{_FIXES} AS fixes FROM json_each(?) AS b CROSS JOIN main.documents AS d ON d.lower_id = b.value"
        ") AS listed")
    return sql, params


_DOC = "CAST(main.documents.body AS TEXT)"
_VECTOR = "(? || c.etag || ?)"  # change_vector(etag, database_id) in SQL: prefix, suffix bound


def _new_body(edits: Sequence[FieldEdit], fixes: Sequence[tuple[str, str]], params: list[Any]) -> str:
    """The body rewritten: ``fixes`` (SQL path, SQL value) first (the round trip happens before the
    script runs), then the edits, then the stamps (change vector prefix and suffix, time bound)."""
    body = _DOC
    pending = [f"{path}, {value}" for path, value in fixes]  # the arguments of the json_set being gathered
    for edit in edits:
        path = _path(edit.path)
        if edit.operator == "delete":
            if pending:
                body = f"json_set({body}, {', '.join(pending)})"
                pending = []
            body = f"json_remove({body}, ?)"
            params.append(path)
        elif edit.operator == "add":
            pending.append(f"?, json_extract({_DOC}, ?) + ?")
            params += [path, path, edit.value]
        else:
            pending.append("?, json(?)")
            params += [path, orjson.dumps(edit.value).decode()]
    pending.append(_STAMPS.format(vector=_VECTOR))
    return f"json_set({body}, {', '.join(pending)})"


def _update(edits: Sequence[FieldEdit], fixes: Sequence[tuple[str, str]], fix_params: Sequence[Any],
            changes: str, database_id: str, now: str) -> tuple[str, list[Any]]:
    """An ``UPDATE`` of the rows of ``changes`` (a subquery of lower_id and etag, whose parameters are
    bound after the ones returned), rewritten as ``_new_body`` says; it returns etag, id and collection."""
    prefix, suffix = change_vector(0, database_id).split("0", 1)
    params: list[Any] = [prefix, suffix, now, *fix_params]
    body = _new_body(edits, fixes, params)
    params += [prefix, suffix, now, _shape_after(edits)]
    sql = (f"UPDATE main.documents SET rowid = c.etag, etag = c.etag, change_vector = {_VECTOR}, last_modified = ?, "
           f"body = CAST({body} AS BLOB), shape = ? FROM ({changes}) AS c "
           "WHERE main.documents.lower_id = c.lower_id")
    return sql, params


def _rewrite(edits: Sequence[FieldEdit], fixes: list[str], last_etag: int, database_id: str, now: str
             ) -> tuple[str, list[Any]]:
    """The ``UPDATE`` of the classified changed documents whose integral floats are at ``fixes``."""
    pairs = [("?", f"CAST(json_extract({_DOC}, ?) AS INTEGER)")] * len(fixes)
    sql, params = _update(edits, pairs, [value for fix in fixes for value in (fix, fix)],
                          "SELECT lower_id, ? + n AS etag FROM temp.field_edit_changes WHERE fixes = ?",
                          database_id, now)
    return f"{sql} RETURNING etag, id, collection", [*params, last_etag, _SEPARATOR.join(fixes)]


def _rewrite_all(edits: Sequence[FieldEdit], listed: str, last_etag: int, database_id: str, now: str
                 ) -> tuple[str, list[Any]]:
    """The one-statement path: an ``UPDATE`` of every document of ``listed`` (a JSON array of lower ids)
    that has a shape, fits the edits and certainly changes, taking the etag after ``last_etag`` of its
    place in the list. Its integral floats come from its shape; for each one it lacks, the pair sets the
    change vector, which the stamps set again."""
    vector_path = f"'{_ROOT}.\"{CHANGE_VECTOR}\"'"
    pairs = [(f"coalesce(json_extract(main.documents.shape, '$[{index}][0]'), {vector_path})",
              f"json_extract(main.documents.shape, '$[{index}][1]')") for index in range(_FAST_FIXES)]
    sql, params = _update(edits, pairs, [], "SELECT value AS lower_id, key + ? AS etag FROM json_each(?)",
                          database_id, now)
    params += [last_etag + 1, listed]
    conditions = ["main.documents.shape IS NOT NULL",
                  f"json_array_length(main.documents.shape) <= {_FAST_FIXES}",
                  "NOT EXISTS (SELECT 1 FROM main.attachments AS a WHERE a.lower_doc_id = main.documents.lower_id)"]
    misfits = _misfits(edits, _DOC, params)
    if misfits:
        conditions.append(f"NOT ({' OR '.join(misfits)})")
    conditions.append(f"({' OR '.join(_changes(edits, _DOC, params, 'main.documents.body')) or '0'})")
    return f"{sql} AND {' AND '.join(conditions)} RETURNING etag, id, collection", params


def _edit_all(db: sqlite3.Connection, listed: str, count: int, edits: Sequence[FieldEdit], last_etag: int,
              database_id: str, now: str) -> list[EditedRow] | None:
    """The one-statement path over the ``count`` documents of ``listed``: the rows written, or None,
    having written nothing, when it does not apply to every one of them."""
    if len(edits) + _FAST_FIXES + 2 > _MAX_PAIRS:
        return None
    sql, params = _rewrite_all(edits, listed, last_etag, database_id, now)
    db.execute("SAVEPOINT field_edits")
    try:
        written = db.execute(sql, params).fetchall()
        if len(written) != count:
            db.execute("ROLLBACK TO field_edits")
            return None
    finally:
        db.execute("RELEASE field_edits")
    written.sort()
    return written


def edit_documents(db: sqlite3.Connection, lower_ids: Sequence[str], edits: Sequence[FieldEdit], *,
                   last_etag: int, database_id: str, now: str) -> list[EditedRow] | None:
    """Apply ``edits`` to the listed documents (see ``WriteTransaction.edit_fields``) with the etags
    after ``last_etag``; the writes in etag order, or None, having written nothing, when a document
    needs the general path."""
    listed = orjson.dumps(list(lower_ids)).decode()
    written = _edit_all(db, listed, len(lower_ids), edits, last_etag, database_id, now)
    if written is not None:
        return written
    for table in _TABLES:
        db.execute(table)
    try:
        classify, params = _classify(edits)
        db.execute(classify, [*params, _body_kinds(db, listed, database_id), listed])
        worst, shapes = db.execute(
            f"SELECT max(CASE WHEN fixes IS NULL THEN {_GENERAL} ELSE state END), "
            f"json_group_array(DISTINCT fixes) FILTER (WHERE state = {_CHANGED}) FROM temp.field_edit_rows"
        ).fetchone()
        if worst == _GENERAL:
            return None
        split = [shape.split(_SEPARATOR) if shape else [] for shape in orjson.loads(shapes)]
        # (A JSON path cannot name a key holding a quote.)
        if len(split) > _MAX_SHAPES or any(len(fixes) + len(edits) + 2 > _MAX_PAIRS
                                           or any('\\"' in fix for fix in fixes) for fixes in split):
            return None
        db.execute("INSERT INTO temp.field_edit_changes (lower_id, fixes) SELECT lower_id, fixes "
                   f"FROM temp.field_edit_rows WHERE state = {_CHANGED} ORDER BY pos")
        written = []
        for fixes in split:
            rewrite, rewrite_params = _rewrite(edits, fixes, last_etag, database_id, now)
            written += db.execute(rewrite, rewrite_params).fetchall()
        written.sort()
        return written
    finally:
        db.execute("DELETE FROM temp.field_edit_rows")
        db.execute("DELETE FROM temp.field_edit_changes")
