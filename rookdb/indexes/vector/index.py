"""One persistent approximate (HNSW) vector index per index field, with RavenDB's search semantics.

Rows are vectors; each row belongs to one document key (a document may own several rows, e.g.
chunks). The graph (usearch) holds the quantized form of every row under the row id; the
full-precision rows live beside it for exact search and for rescoring quantized candidates.

Semantics (RavenDB's Corax ``vector.search``):

* the graph search considers ``number_of_candidates`` nearest vectors (efSearch); results are
  documents, each with its best vector's score, ordered by score, cut to ``k``;
* removal is a soft delete: the rows stay in the graph, never to be returned again (no compaction),
  and re-adding a document soft-deletes its previous rows first;
* filtered search (``allowed_keys``) scans the allowed documents exactly when they are fewer than the
  scanning threshold or fewer than twice the candidates; otherwise it walks the graph, drops what
  the filter rejects and doubles the candidates until enough pass;
* scores and ``minimum_similarity``: see :mod:`rookdb.indexes.vector.kinds`.

Two deliberate departures, both raising recall and both tunable through
:class:`~rookdb.indexes.vector.kinds.GraphTuning`:
usearch is given at least ``min_expansion_add`` build candidates and ``min_expansion_search``
search candidates (RavenDB's defaults, 16 and 16, leave recall@10 near 0.8 at 10k vectors and far
lower at 100k on clustered data), and ``Int8``/``Binary`` candidates are over-fetched and re-ranked
with the full-precision vectors, so their scores are exact cosine similarities.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Set
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from rookdb.errors import BadRequestError, StorageError, VectorDimensionMismatchError
from rookdb.indexes.rwlock import ReadWriteLock
from rookdb.indexes.vector import _files
from rookdb.indexes.vector._arrays import GrowableArray
from rookdb.indexes.vector._rows import as_matrix, dimensions_of, same_dimensions
from rookdb.indexes.vector.exact import top_cosine, top_hamming
from rookdb.indexes.vector.kinds import (
    DEFAULT_MINIMUM_SIMILARITY,
    DEFAULT_NUMBER_OF_CANDIDATES_FOR_INDEXING,
    DEFAULT_NUMBER_OF_CANDIDATES_FOR_QUERYING,
    DEFAULT_NUMBER_OF_EDGES,
    DEFAULT_SCANNING_THRESHOLD,
    DEFAULT_TUNING,
    GraphTuning,
    ScoreSpace,
    VectorKind,
    minimum_score,
    normalize_rows,
    quantize_int8_rows,
    sign_bits,
)

if TYPE_CHECKING:
    from usearch.index import Index

__all__ = ["SearchHit", "VectorIndex"]

SearchHit = tuple[int, float]
"""A document key and its score."""

_RowIds = npt.NDArray[np.int64]
_Scores = npt.NDArray[np.float32]


class VectorIndex:
    """A persistent vector index: ``open`` it, ``add``/``remove`` documents, ``search``, ``save``.

    One writer at a time and any number of concurrent readers; ``save`` runs alongside searches.
    """

    def __init__(
        self,
        directory: Path,
        name: str,
        kind: VectorKind,
        dimensions: int | None,
        m: int,
        ef_construction: int,
        tuning: GraphTuning,
    ) -> None:
        """Use :meth:`open`; this creates an empty, unsaved index."""
        self._directory = directory
        self._name = name
        self._kind = kind
        self._dimensions = dimensions
        self._packed: bool | None = None
        self._m = m
        self._ef_construction = ef_construction
        self._tuning = tuning
        self._graph: Index | None = None
        self._vectors: GrowableArray | None = None
        self._keys = GrowableArray((), np.int64)
        self._alive = GrowableArray((), np.bool_)
        self._first_row: dict[int, int] = {}
        self._live_rows = 0
        self._generation = 0
        self._checkpoint = 0
        self._lock = ReadWriteLock()
        self._save_lock = threading.Lock()

    # ---------------------------------------------------------------- lifecycle

    @classmethod
    def open(
        cls,
        directory: str | Path,
        name: str,
        *,
        dimensions: int | None = None,
        kind: VectorKind = VectorKind.SINGLE,
        m: int = DEFAULT_NUMBER_OF_EDGES,
        ef_construction: int = DEFAULT_NUMBER_OF_CANDIDATES_FOR_INDEXING,
        tuning: GraphTuning = DEFAULT_TUNING,
    ) -> VectorIndex:
        """Load the index saved as ``name`` in ``directory``, or start an empty one.

        A saved index keeps the kind, dimensions and graph parameters it was built with; opening it
        with different ones raises ``ValueError`` (delete it with :meth:`delete` and rebuild).
        """
        _files.check_name(name)
        if m < 2 or ef_construction < 1:
            raise ValueError(f"HNSW needs m >= 2 and ef_construction >= 1 (got {m}, {ef_construction})")
        if dimensions is not None and dimensions < 1:
            raise ValueError(f"dimensions must be positive, got {dimensions}")
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        manifest = _files.read_manifest(folder, name)
        index = cls(folder, name, VectorKind(kind), dimensions, m, ef_construction, tuning)
        if manifest is not None:
            index._check_compatible(manifest)
            index._load(manifest)
        return index

    @staticmethod
    def delete(directory: str | Path, name: str) -> None:
        """Delete every file of the index saved as ``name`` (an index is rebuilt from scratch)."""
        _files.check_name(name)
        folder = Path(directory)
        if folder.is_dir():
            _files.remove_all(folder, name)

    def save(self, checkpoint: int | None = None) -> None:
        """Persist the current state atomically; ``checkpoint`` records how far the caller got.

        The caller passes the position of the last change it applied (e.g. the change-feed etag) and
        after a restart resumes from :attr:`checkpoint` instead of rebuilding. A crash mid-save
        leaves the previous save intact.
        """
        with self._save_lock, self._lock.reading():
            generation = self._generation + 1
            files = _files.GenerationFiles.of(self._directory, self._name, generation)
            kept_checkpoint = self._checkpoint if checkpoint is None else checkpoint
            try:
                if self._graph is not None:
                    self._graph.save(str(files.graph))
                    _files.sync_file(files.graph)
                vectors = self._vectors.view if self._vectors is not None else np.empty((0, 0), np.float32)
                if self._kind is VectorKind.SINGLE:
                    # A Single graph holds the very same unit f32 rows: don't write them twice.
                    vectors = vectors[:0]
                with open(files.vectors, "wb") as out:
                    np.save(out, vectors)
                    out.flush()
                with open(files.ids, "wb") as out:
                    np.savez(out, keys=self._keys.view, alive=self._alive.view)
                    out.flush()
                _files.sync_file(files.vectors)
                _files.sync_file(files.ids)
                manifest = _files.Manifest(
                    kind=self._kind.value,
                    dimensions=self._dimensions,
                    packed=self._packed,
                    m=self._m,
                    ef_construction=self._ef_construction,
                    rows=len(self._keys),
                    generation=generation,
                    checkpoint=kept_checkpoint,
                )
                _files.publish(self._directory, self._name, manifest)
            except (OSError, RuntimeError) as error:
                raise StorageError(f"Cannot save vector index '{self._name}': {error}") from error
            self._generation = generation
            self._checkpoint = kept_checkpoint

    # ---------------------------------------------------------------- properties

    @property
    def name(self) -> str:
        return self._name

    @property
    def kind(self) -> VectorKind:
        return self._kind

    @property
    def dimensions(self) -> int | None:
        """Components per vector (bits for pre-quantized Binary); None until the first vector."""
        return self._dimensions

    @property
    def score_space(self) -> ScoreSpace:
        """Hamming only for Binary fed pre-quantized bits; everything else scores by cosine."""
        return ScoreSpace.HAMMING if self._packed else ScoreSpace.COSINE

    @property
    def checkpoint(self) -> int:
        """The checkpoint passed to the last :meth:`save` (0 for a new index)."""
        return self._checkpoint

    @property
    def document_count(self) -> int:
        return len(self._first_row)

    @property
    def vector_count(self) -> int:
        """Live (not removed) vectors."""
        return self._live_rows

    def disk_bytes(self) -> int:
        """Size of the saved files of the current generation, manifest included."""
        files = _files.GenerationFiles.of(self._directory, self._name, self._generation)
        paths = [files.graph, files.vectors, files.ids, _files.manifest_path(self._directory, self._name)]
        return sum(path.stat().st_size for path in paths if path.exists())

    def __contains__(self, key: object) -> bool:
        return key in self._first_row

    def __repr__(self) -> str:
        return (
            f"VectorIndex({self._name!r}, kind={self._kind.value}, dimensions={self._dimensions}, "
            f"documents={self.document_count}, vectors={self._live_rows})"
        )

    # ---------------------------------------------------------------- writes

    def add(self, key: int, vectors: npt.ArrayLike) -> None:
        """Index the vectors of one document, replacing any it had (one row per vector)."""
        rows = as_matrix(vectors)
        self.add_many(np.full(len(rows), key, dtype=np.int64), rows)

    def add_many(self, keys: Iterable[int], vectors: npt.ArrayLike, *, threads: int | None = None) -> None:
        """Index many rows at once: ``keys[i]`` owns ``vectors[i]``; the keys' previous rows go.

        Float input is normalized (cosine); ``Binary`` also accepts packed ``uint8`` bits, which then
        are all it ever stores (pre-quantized, no rescoring). ``Int8`` takes floats or ``int8``.
        """
        listed = keys if isinstance(keys, np.ndarray | list | tuple) else list(keys)
        key_array = np.asarray(listed, dtype=np.int64).reshape(-1)
        rows = as_matrix(vectors)
        if len(key_array) != len(rows):
            raise ValueError(f"{len(key_array)} keys for {len(rows)} vectors")
        packed = self._is_packed_input(rows)
        with self._lock.writing():
            if len(rows):
                dimensions = dimensions_of(rows, packed)
                rows = self._stored_form(rows, packed)  # rejects NaN before the layout is fixed
                self._fix_layout(packed, dimensions)
            order = np.argsort(key_array, kind="stable")  # a document's rows must be contiguous
            key_array, rows = key_array[order], rows[order]
            for key in np.unique(key_array).tolist():
                self._remove_locked(key)
            if not len(rows):
                return
            assert self._vectors is not None and self._graph is not None
            start = self._vectors.append(rows)
            self._keys.append(key_array)
            self._alive.append(np.ones(len(rows), dtype=np.bool_))
            unique, first = np.unique(key_array, return_index=True)
            self._first_row.update(zip(unique.tolist(), (first + start).tolist(), strict=True))
            self._live_rows += len(rows)
            row_ids = np.arange(start, start + len(rows), dtype=np.uint64)
            try:
                self._graph.add(row_ids, self._graph_form(rows), threads=threads or self._tuning.add_threads)
            except (RuntimeError, ValueError) as error:
                raise StorageError(f"Vector index '{self._name}' rejected vectors: {error}") from error

    def remove(self, key: int) -> bool:
        """Soft-delete the document's vectors; they are never returned again. False if unknown."""
        with self._lock.writing():
            return self._remove_locked(key)

    # ---------------------------------------------------------------- reads

    def holds(self, key: int, vectors: npt.ArrayLike) -> bool:
        """True when the document's stored rows are exactly what ``add`` would store for ``vectors``
        (indexing them again would change nothing but the graph's work and size)."""
        rows = as_matrix(vectors)
        packed = self._is_packed_input(rows)
        with self._lock.reading():
            stored_rows = self._rows_of(key)
            if self._vectors is None or len(stored_rows) != len(rows) or packed != self._packed:
                return False
            try:
                wanted = self._stored_form(rows, packed)
            except BadRequestError:
                return False
            stored = self._vectors.view[stored_rows]
            return stored.shape == wanted.shape and bool(np.array_equal(stored, wanted))

    def vectors_of(self, key: int) -> npt.NDArray[Any]:
        """The stored rows of a document (unit f32, or packed bits), e.g. for ``embedding.forDoc``."""
        with self._lock.reading():
            rows = self._rows_of(key)
            if self._vectors is None or not rows:
                return np.empty((0, 0), dtype=np.float32)
            return self._vectors.view[rows].copy()

    def search(
        self,
        query: npt.ArrayLike,
        k: int | None = None,
        *,
        minimum_similarity: float = DEFAULT_MINIMUM_SIMILARITY,
        number_of_candidates: int = DEFAULT_NUMBER_OF_CANDIDATES_FOR_QUERYING,
        exact: bool = False,
        allowed_keys: Set[int] | None = None,
        scanning_threshold: int = DEFAULT_SCANNING_THRESHOLD,
    ) -> list[SearchHit]:
        """Documents nearest to ``query`` as ``(key, score)``, best first, at most ``k`` of them.

        At most ``number_of_candidates`` nearest vectors are considered (RavenDB's semantics: with
        several vectors per document fewer documents come back). ``allowed_keys`` restricts the
        result to those documents (see the module docstring for how).
        """
        if number_of_candidates < 1:
            raise BadRequestError(f"The number of candidates must be at least 1, got {number_of_candidates}")
        if not 0.0 <= minimum_similarity <= 1.0:
            raise BadRequestError(f"The minimum similarity must be between 0 and 1, got {minimum_similarity}")
        if k is not None and k < 0:
            raise BadRequestError(f"k must not be negative, got {k}")
        with self._lock.reading():
            if self._graph is None or self._live_rows == 0 or k == 0:
                self._check_query_shape(query)
                return []
            full, coarse = self._prepare_query(query)
            if allowed_keys is not None:
                rows, scores = self._filtered(
                    full, coarse, number_of_candidates, exact, allowed_keys, scanning_threshold
                )
            elif exact:
                rows, scores = self._exact(full, coarse, number_of_candidates, None)
            else:
                rows, scores = self._approximate(full, coarse, number_of_candidates, None)
            return self._documents(rows, scores, minimum_score(self.score_space, minimum_similarity), k)

    # ---------------------------------------------------------------- search paths

    def _approximate(
        self,
        full: npt.NDArray[np.float32] | None,
        coarse: npt.NDArray[Any],
        count: int,
        allowed: Set[int] | None,
    ) -> tuple[_RowIds, _Scores]:
        """One graph search for ``count`` vectors (over-fetched for quantized kinds), then rescored."""
        assert self._graph is not None
        fetch = count * self._oversampling()
        found = self._graph.search(coarse, fetch, threads=1)
        rows = np.asarray(found.keys, dtype=np.int64)
        distances = np.asarray(found.distances, dtype=np.float32)
        if allowed is not None:
            keys = self._keys.view[rows].tolist()
            passing = np.fromiter((key in allowed for key in keys), dtype=np.bool_, count=len(keys))
            rows, distances = rows[passing], distances[passing]
        if self._packed:
            bits = np.float32(8 * coarse.shape[0])
            scores = (1.0 - distances / bits).astype(np.float32)
        elif self._kind is VectorKind.SINGLE:
            scores = (1.0 - distances).astype(np.float32)
        else:
            assert self._vectors is not None and full is not None
            scores = (self._vectors.view[rows] @ full).astype(np.float32)
        order = np.lexsort((rows, -scores))[:count]  # ties go to the older row, as in exact search
        return rows[order], scores[order]

    def _exact(
        self, full: npt.NDArray[np.float32] | None, coarse: npt.NDArray[Any], count: int, rows: _RowIds | None
    ) -> tuple[_RowIds, _Scores]:
        assert self._vectors is not None
        alive = self._alive.view
        if self._packed:
            return top_hamming(self._vectors.view, coarse, count, rows=rows, alive=alive)
        assert full is not None
        return top_cosine(self._vectors.view, full, count, rows=rows, alive=alive)

    def _filtered(
        self,
        full: npt.NDArray[np.float32] | None,
        coarse: npt.NDArray[Any],
        count: int,
        exact: bool,
        allowed: Set[int],
        scanning_threshold: int,
    ) -> tuple[_RowIds, _Scores]:
        allowed_count = len(allowed)
        if exact or allowed_count < scanning_threshold or count > allowed_count / 2:
            return self._exact(full, coarse, count, self._rows_of_many(allowed))
        fetch = count
        while True:
            rows, scores = self._approximate(full, coarse, fetch, allowed)
            exhausted = fetch * self._oversampling() >= self._live_rows
            if len(rows) >= count or exhausted:
                return rows[:count], scores[:count]
            fetch *= 2
            # Past this point another graph round would visit more vectors than the allowed set
            # holds, so scanning the allowed rows exactly is both cheaper and complete.
            if fetch * self._oversampling() > allowed_count:
                return self._exact(full, coarse, count, self._rows_of_many(allowed))

    def _documents(self, rows: _RowIds, scores: _Scores, threshold: float, k: int | None) -> list[SearchHit]:
        """Best vector per document, above the threshold, in score order, at most ``k``."""
        hits: list[SearchHit] = []
        seen: set[int] = set()
        keys = self._keys.view[rows].tolist()
        for key, score in zip(keys, scores.tolist(), strict=True):
            if score < threshold:
                break  # sorted: nothing after it passes either
            if key in seen:
                continue
            seen.add(key)
            hits.append((key, score))
            if k is not None and len(hits) >= k:
                break
        return hits

    # ---------------------------------------------------------------- helpers

    def _oversampling(self) -> int:
        if self._packed or self._kind is VectorKind.SINGLE:
            return 1
        if self._kind is VectorKind.INT8:
            return self._tuning.int8_oversampling
        return self._tuning.binary_oversampling

    def _is_packed_input(self, rows: npt.NDArray[Any]) -> bool:
        return self._kind is VectorKind.BINARY and rows.dtype == np.uint8

    def _fix_layout(self, packed: bool, dimensions: int) -> None:
        """Fix dimensions and source on the first vectors; later ones must agree."""
        if self._packed is not None and packed != self._packed:
            held = "pre-quantized bits" if self._packed else "float vectors"
            raise BadRequestError(f"Vector index '{self._name}' holds {held}; it cannot mix in others")
        if self._dimensions is not None and not same_dimensions(self._dimensions, dimensions, packed):
            raise VectorDimensionMismatchError(self._dimensions, dimensions, field=self._name)
        if self._dimensions is None:
            self._dimensions = dimensions
        if self._packed is None:
            self._packed = packed
        if self._vectors is None:
            width = (self._dimensions + 7) // 8 if packed else self._dimensions
            self._vectors = GrowableArray((width,), np.uint8 if packed else np.float32)
        if self._graph is None:
            self._graph = self._new_graph()

    def _new_graph(self) -> Index:
        assert self._dimensions is not None
        expansion_add = max(self._ef_construction, self._tuning.min_expansion_add)
        if self._kind is VectorKind.BINARY:
            metric, dtype, ndim = "hamming", "b1", 8 * ((self._dimensions + 7) // 8)
        elif self._kind is VectorKind.INT8:
            metric, dtype, ndim = "cos", "i8", self._dimensions
        else:
            # Rows are unit length, where inner product equals cosine and builds ~25% faster.
            metric, dtype, ndim = "ip", "f32", self._dimensions
        return _usearch_index()(
            ndim=ndim,
            metric=metric,
            dtype=dtype,
            connectivity=self._m,
            expansion_add=expansion_add,
            # usearch searches with max(expansion_search, count), so this is only a floor.
            expansion_search=self._tuning.min_expansion_search,
        )

    def _stored_form(self, rows: npt.NDArray[Any], packed: bool) -> npt.NDArray[Any]:
        if packed:
            return np.ascontiguousarray(rows, dtype=np.uint8)
        matrix = rows.astype(np.float32, copy=False)
        if not np.isfinite(matrix).all():
            raise BadRequestError(f"Vector index '{self._name}' got a vector with NaN or infinite components")
        return normalize_rows(matrix)

    def _graph_form(self, stored: npt.NDArray[Any]) -> npt.NDArray[Any]:
        if self._packed:
            return stored
        if self._kind is VectorKind.INT8:
            return quantize_int8_rows(stored)
        if self._kind is VectorKind.BINARY:
            return sign_bits(stored)
        return stored

    def _check_query_shape(self, query: npt.ArrayLike) -> None:
        if self._dimensions is not None:
            self._prepare_query(query)

    def _prepare_query(self, query: npt.ArrayLike) -> tuple[npt.NDArray[np.float32] | None, npt.NDArray[Any]]:
        """The query as a unit f32 vector (None for bits-only indexes) and in the graph's form."""
        vector = as_matrix(query)
        if len(vector) != 1:
            raise BadRequestError(f"A vector query takes one vector, got {len(vector)}")
        packed = self._is_packed_input(vector)
        assert self._dimensions is not None
        dimensions = dimensions_of(vector, packed)
        if not same_dimensions(self._dimensions, dimensions, packed):
            raise VectorDimensionMismatchError(self._dimensions, dimensions, field=self._name)
        if packed:
            if not self._packed:
                raise BadRequestError(
                    f"Vector index '{self._name}' holds float vectors; query it with floats, not packed bits"
                )
            return None, np.ascontiguousarray(vector[0], dtype=np.uint8)
        full = self._stored_form(vector, packed=False)
        if self._packed:
            return None, sign_bits(full)[0]
        return full[0], self._graph_form(full)[0]

    def _rows_of(self, key: int) -> list[int]:
        start = self._first_row.get(key)
        if start is None:
            return []
        keys, alive = self._keys.view, self._alive.view
        end = start + 1
        while end < len(keys) and keys[end] == key and alive[end]:
            end += 1
        return list(range(start, end))

    def _rows_of_many(self, keys: Iterable[int]) -> _RowIds:
        rows: list[int] = []
        for key in keys:
            rows.extend(self._rows_of(key))
        return np.asarray(rows, dtype=np.int64)

    def _remove_locked(self, key: int) -> bool:
        rows = self._rows_of(key)
        if not rows:
            return False
        assert self._graph is not None
        self._alive.view[rows] = False
        self._graph.remove(np.asarray(rows, dtype=np.uint64))
        del self._first_row[key]
        self._live_rows -= len(rows)
        return True

    def _check_compatible(self, manifest: _files.Manifest) -> None:
        stored = (manifest.kind, manifest.m, manifest.ef_construction)
        wanted = (self._kind.value, self._m, self._ef_construction)
        if stored != wanted:
            raise ValueError(
                f"Vector index '{self._name}' was built with kind/m/ef_construction {stored}, opened with "
                f"{wanted}; delete and rebuild it"
            )
        if self._dimensions is not None and manifest.dimensions not in (None, self._dimensions):
            raise VectorDimensionMismatchError(manifest.dimensions, self._dimensions, field=self._name)

    def _load(self, manifest: _files.Manifest) -> None:
        files = _files.GenerationFiles.of(self._directory, self._name, manifest.generation)
        try:
            vectors = np.load(files.vectors, allow_pickle=False)
            with np.load(files.ids, allow_pickle=False) as ids:
                keys, alive = ids["keys"], ids["alive"]
            rows = manifest.rows
            in_graph = self._kind is VectorKind.SINGLE
            if not (len(keys) == len(alive) == rows and (in_graph or not rows or len(vectors) == rows)):
                raise StorageError(f"Vector index '{self._name}' files disagree on the number of rows")
            self._dimensions = manifest.dimensions
            self._packed = manifest.packed
            if self._dimensions is not None and self._packed is not None:
                self._graph = self._new_graph()
                if rows:
                    # load() into a configured Index keeps our expansion settings (restore() would not).
                    self._graph.load(str(files.graph))
                if in_graph:
                    vectors = _files.read_back_rows(self._graph, rows, self._dimensions)
                self._vectors = GrowableArray(vectors.shape[1:], vectors.dtype, vectors)
        except (OSError, ValueError, KeyError, RuntimeError) as error:
            raise StorageError(f"Cannot load vector index '{self._name}': {error}") from error
        self._keys = GrowableArray((), np.int64, keys)
        self._alive = GrowableArray((), np.bool_, alive)
        live = np.flatnonzero(alive)
        unique, first = np.unique(keys[live], return_index=True)
        self._first_row = dict(zip(unique.tolist(), live[first].tolist(), strict=True))
        self._live_rows = len(live)
        self._generation = manifest.generation
        self._checkpoint = manifest.checkpoint


def _usearch_index() -> type[Index]:
    """usearch's ``Index``, imported on first use and only after onnxruntime: loading usearch first
    crashes the process when onnxruntime (the embedded model) loads later (measured here, 2.26.6 and
    1.32.0; both bring their own OpenMP runtime)."""
    import onnxruntime  # noqa: F401
    from usearch.index import Index

    return Index
