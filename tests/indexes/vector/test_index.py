from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from rookdb.errors import BadRequestError, StorageError, VectorDimensionMismatchError
from rookdb.indexes.vector import ScoreSpace, VectorIndex, VectorKind
from rookdb.indexes.vector.exact import top_cosine
from tests.support.vectors import Dataset

KEYS = np.arange(6000)


def build(path: Path, dataset: Dataset, kind: VectorKind = VectorKind.SINGLE) -> VectorIndex:
    index = VectorIndex.open(path, "field", kind=kind)
    index.add_many(KEYS, dataset.vectors)
    return index


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory, dataset: Dataset) -> VectorIndex:
    return build(tmp_path_factory.mktemp("single"), dataset)


def exact_filtered(dataset: Dataset, query: npt.NDArray[np.float32], allowed: set[int], k: int) -> list[int]:
    rows, _ = top_cosine(dataset.vectors, query, k, rows=np.array(sorted(allowed)))
    return [int(row) for row in rows]


# ---------------------------------------------------------------- recall


def test_default_settings_reach_recall_095(single: VectorIndex, dataset: Dataset) -> None:
    results = [single.search(query, 10) for query in dataset.queries]
    assert all(len(hits) == 10 for hits in results)
    assert dataset.recall_at_10(results) >= 0.95


def test_int8_with_rescoring_reaches_recall_099(tmp_path: Path, dataset: Dataset) -> None:
    index = build(tmp_path, dataset, VectorKind.INT8)
    results = [index.search(query, 10) for query in dataset.queries]
    assert dataset.recall_at_10(results) >= 0.99
    # Rescored scores are the exact cosine similarities.
    key, score = results[0][0]
    assert score == pytest.approx(float(dataset.vectors[key] @ dataset.queries[0]), abs=1e-5)


def test_binary_with_rescoring_is_close_to_exact(tmp_path: Path, dataset: Dataset) -> None:
    index = build(tmp_path, dataset, VectorKind.BINARY)
    assert index.score_space is ScoreSpace.COSINE
    results = [index.search(query, 10) for query in dataset.queries]
    assert dataset.recall_at_10(results) >= 0.95


def test_exact_search_is_the_truth(single: VectorIndex, dataset: Dataset) -> None:
    for i, query in enumerate(dataset.queries[:20]):
        hits = single.search(query, 10, exact=True)
        assert [key for key, _ in hits] == dataset.truth[i].tolist()
        assert hits[0][1] == pytest.approx(float(dataset.vectors[hits[0][0]] @ query), abs=1e-5)


def test_scores_are_cosine_similarities_in_descending_order(single: VectorIndex, dataset: Dataset) -> None:
    query = dataset.queries[3] * 7.5  # length does not matter for cosine
    hits = single.search(query, 16)
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True)
    for key, score in hits:
        assert score == pytest.approx(float(dataset.vectors[key] @ dataset.queries[3]), abs=1e-5)


def test_number_of_candidates_caps_the_results(single: VectorIndex, dataset: Dataset) -> None:
    assert len(single.search(dataset.queries[0], None)) == 16
    assert len(single.search(dataset.queries[0], None, number_of_candidates=40)) == 40
    assert len(single.search(dataset.queries[0], 100, exact=True)) == 16
    assert single.search(dataset.queries[0], 0) == []


# ---------------------------------------------------------------- documents with several vectors


def test_a_document_with_several_vectors_appears_once_with_its_best_score(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path, "chunks")
    index.add(1, [[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.8, 0.2, 0.0]])
    index.add(2, [[0.0, 1.0, 0.0]])
    index.add(3, [[0.5, 0.5, 0.0]])
    hits = index.search([1.0, 0.0, 0.0], 10)
    assert [key for key, _ in hits] == [1, 3, 2]
    assert hits[0][1] == pytest.approx(1.0)
    assert index.vector_count == 5 and index.document_count == 3
    # Candidates count vectors: the three nearest all belong to document 1.
    assert [key for key, _ in index.search([1.0, 0.0, 0.0], 10, number_of_candidates=3)] == [1]


def test_adding_a_document_again_replaces_its_vectors(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path, "replace")
    index.add(1, [[1.0, 0.0], [0.9, 0.1]])
    index.add(2, [[0.0, 1.0]])
    index.add(1, [[-1.0, 0.0]])
    assert index.vector_count == 2
    assert [key for key, _ in index.search([1.0, 0.0], 10)] == [2, 1]
    assert index.search([1.0, 0.0], 10)[1][1] == pytest.approx(-1.0)
    np.testing.assert_allclose(index.vectors_of(1), [[-1.0, 0.0]])


def test_add_many_groups_rows_by_document(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path, "grouped")
    index.add_many([5, 6, 5], [[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    assert index.document_count == 2
    assert len(index.vectors_of(5)) == 2
    assert index.search([0.0, 1.0], 10, exact=True)[0][0] == 6


@pytest.mark.parametrize("kind", list(VectorKind))
def test_holds_answers_whether_adding_again_would_change_anything(tmp_path: Path, kind: VectorKind) -> None:
    index = VectorIndex.open(tmp_path, "holds", kind=kind)
    index.add(1, [[3.0, 4.0], [1.0, 0.0]])
    assert index.holds(1, [[3.0, 4.0], [1.0, 0.0]])
    assert index.holds(1, [[0.6, 0.8], [2.0, 0.0]])  # stored normalized: the same directions
    assert not index.holds(1, [[3.0, 4.0]])
    assert not index.holds(1, [[1.0, 0.0], [3.0, 4.0]])
    assert not index.holds(1, [[3.0, 4.0], [0.0, 1.0]])
    assert not index.holds(2, [[3.0, 4.0], [1.0, 0.0]])
    assert not index.holds(1, [[np.nan, 4.0], [1.0, 0.0]])
    index.remove(1)
    assert not index.holds(1, [[3.0, 4.0], [1.0, 0.0]])


def test_holds_compares_prequantized_bits_as_stored(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path, "bitsheld", kind=VectorKind.BINARY)
    index.add(1, np.array([[0b10101010, 0b11110000]], dtype=np.uint8))
    assert index.holds(1, np.array([[0b10101010, 0b11110000]], dtype=np.uint8))
    assert not index.holds(1, np.array([[0b10101010, 0b11110001]], dtype=np.uint8))


def test_empty_index_holds_nothing(tmp_path: Path) -> None:
    assert not VectorIndex.open(tmp_path, "emptyheld").holds(1, [[1.0, 0.0]])


# ---------------------------------------------------------------- removal


def test_removed_documents_never_come_back(tmp_path: Path, dataset: Dataset) -> None:
    index = build(tmp_path, dataset)
    query = dataset.queries[0]
    gone = {key for key, _ in index.search(query, 16)}
    for key in gone:
        assert index.remove(key)
    assert not index.remove(next(iter(gone)))
    assert index.document_count == 6000 - len(gone)
    for hits in (
        index.search(query, 16),
        index.search(query, 16, exact=True),
        index.search(query, 16, allowed_keys=set(range(3000)) | gone),
        index.search(query, 16, allowed_keys=gone | {1, 2, 3}),
    ):
        assert hits and not {key for key, _ in hits} & gone
    index.save()
    reopened = VectorIndex.open(tmp_path, "field")
    assert not {key for key, _ in reopened.search(query, 16)} & gone
    assert reopened.search(query, 16, exact=True) == index.search(query, 16, exact=True)
    np.testing.assert_allclose(reopened.vectors_of(5999), dataset.vectors[5999:], atol=1e-6)
    assert all(key not in reopened for key in gone)


def test_removing_everything_leaves_an_empty_answer(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path, "tiny")
    index.add(1, [1.0, 0.0])
    index.remove(1)
    assert index.search([1.0, 0.0], 10) == []
    index.add(1, [])  # a document without vectors indexes nothing
    assert index.search([1.0, 0.0], 10) == []


# ---------------------------------------------------------------- filtered search


def spy_exact(index: VectorIndex, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = index._exact

    def counting(*args: object) -> object:
        calls.append(1)
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(index, "_exact", counting)
    return calls


def test_filter_below_the_scanning_threshold_scans_exactly(
    single: VectorIndex, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = set(range(0, 6000, 7))  # 858 documents < 1024
    calls = spy_exact(single, monkeypatch)
    for query in dataset.queries[:10]:
        hits = single.search(query, 10, allowed_keys=allowed)
        assert [key for key, _ in hits] == exact_filtered(dataset, query, allowed, 10)
    assert len(calls) == 10


def test_filter_above_the_threshold_walks_the_graph(
    single: VectorIndex, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = set(range(0, 6000, 2))
    calls = spy_exact(single, monkeypatch)
    results, truth = [], []
    for query in dataset.queries:
        hits = single.search(query, 10, allowed_keys=allowed)
        assert len(hits) == 10 and {key for key, _ in hits} <= allowed
        results.append({key for key, _ in hits})
        truth.append(set(exact_filtered(dataset, query, allowed, 10)))
    assert not calls
    assert np.mean([len(r & t) for r, t in zip(results, truth, strict=True)]) / 10 >= 0.95


def test_a_selective_filter_widens_the_candidates_until_enough_pass(
    single: VectorIndex, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = set(range(0, 6000, 5))  # 1200 documents: graph first, a tenth of each round passes
    searched: list[int] = []
    graph = single._graph
    assert graph is not None
    original = graph.search

    class Recording:
        def search(self, vector: npt.NDArray[np.float32], count: int, threads: int) -> object:
            searched.append(count)
            return original(vector, count, threads=threads)

    monkeypatch.setattr(single, "_graph", Recording())
    found = 0
    for query in dataset.queries:
        hits = single.search(query, 10, allowed_keys=allowed)
        assert {key for key, _ in hits} <= allowed and len(hits) == 10
        found += len({key for key, _ in hits} & set(exact_filtered(dataset, query, allowed, 10)))
    # Approximate: a fifth of each cluster passes, so the tail comes from other clusters.
    assert found / (10 * len(dataset.queries)) >= 0.9
    assert max(searched) > 16
    assert all(count in (16, 32, 64, 128, 256, 512, 1024) for count in searched)


def test_filter_smaller_than_twice_the_candidates_scans_exactly(
    single: VectorIndex, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed = set(range(2000, 5000))
    calls = spy_exact(single, monkeypatch)
    hits = single.search(dataset.queries[0], 10, allowed_keys=allowed, number_of_candidates=1600)
    assert calls and [key for key, _ in hits] == exact_filtered(dataset, dataset.queries[0], allowed, 10)


def test_filter_with_unknown_or_no_keys(single: VectorIndex, dataset: Dataset) -> None:
    assert single.search(dataset.queries[0], 10, allowed_keys=set()) == []
    assert single.search(dataset.queries[0], 10, allowed_keys={10_000_000}) == []
    assert [key for key, _ in single.search(dataset.queries[0], 10, allowed_keys={42})] == [42]


# ---------------------------------------------------------------- minimum similarity


def test_minimum_similarity_follows_ravendb(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path, "similarity")
    cosines = {1: 1.0, 2: 0.7, 3: 0.5, 4: -0.2}
    for key, cosine in cosines.items():
        index.add(key, [cosine, float(np.sqrt(1 - cosine**2)), 0.0])
    query = [1.0, 0.0, 0.0]
    for exact in (False, True):
        assert [key for key, _ in index.search(query, 10, exact=exact)] == [1, 2, 3, 4]
        # s = 0.8 keeps cosine >= 2 * 0.8 - 1 = 0.6
        assert [key for key, _ in index.search(query, 10, minimum_similarity=0.8, exact=exact)] == [1, 2]
        assert [key for key, _ in index.search(query, 10, minimum_similarity=0.75, exact=exact)] == [1, 2, 3]
        assert [key for key, _ in index.search(query, 10, minimum_similarity=1.0, exact=exact)] == [1]
    with pytest.raises(BadRequestError):
        index.search(query, 10, minimum_similarity=1.5)


# ---------------------------------------------------------------- pre-quantized input


def test_prequantized_binary_scores_by_hamming(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path, "bits", kind=VectorKind.BINARY)
    index.add_many(
        [1, 2, 3],
        np.array([[0b11111111, 0b11111111], [0b11111111, 0b00000000], [0b00000000, 0b00000000]], dtype=np.uint8),
    )
    assert index.score_space is ScoreSpace.HAMMING and index.dimensions == 16
    query = np.array([0b11111111, 0b11110000], dtype=np.uint8)
    for exact in (False, True):
        assert index.search(query, 10, exact=exact) == [(1, 0.75), (2, 0.75), (3, 0.25)]
        assert [key for key, _ in index.search(query, 10, minimum_similarity=0.5, exact=exact)] == [1, 2]
    # A float query is quantized the same way (x >= 0 sets the bit).
    assert index.search(np.ones(16, dtype=np.float32), 1) == [(1, 1.0)]
    with pytest.raises(BadRequestError):
        index.add(4, np.ones(16, dtype=np.float32))


def test_float_binary_index_refuses_packed_queries(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path, "floatbits", kind=VectorKind.BINARY)
    index.add(1, np.ones(16, dtype=np.float32))
    with pytest.raises(BadRequestError):
        index.search(np.array([255, 255], dtype=np.uint8), 1)


def test_prequantized_int8_input(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path, "int8", kind=VectorKind.INT8)
    index.add_many([1, 2], np.array([[127, 0, 0], [0, 127, -5]], dtype=np.int8))
    hits = index.search(np.array([100, 10, 0], dtype=np.int8), 10)
    assert [key for key, _ in hits] == [1, 2]
    assert hits[0][1] == pytest.approx(100 / np.hypot(100, 10), abs=1e-5)


# ---------------------------------------------------------------- dimensions and input


def test_dimensions_come_from_the_first_vector(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path, "dims")
    assert index.dimensions is None and index.search([1.0, 2.0], 5) == []
    index.add(1, [1.0, 2.0, 3.0])
    assert index.dimensions == 3
    with pytest.raises(VectorDimensionMismatchError) as raised:
        index.add(2, [1.0, 2.0])
    assert raised.value.expected == 3 and raised.value.actual == 2
    assert raised.value.status_code == 400 and isinstance(raised.value, BadRequestError)
    assert "3" in raised.value.message and "2" in raised.value.message
    with pytest.raises(VectorDimensionMismatchError):
        index.search([1.0, 2.0, 3.0, 4.0], 5)
    assert index.document_count == 1


def test_declared_dimensions_are_enforced(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path, "declared", dimensions=4)
    with pytest.raises(VectorDimensionMismatchError):
        index.add(1, [1.0, 2.0, 3.0])
    with pytest.raises(VectorDimensionMismatchError):
        index.search([1.0, 2.0, 3.0], 5)


@pytest.mark.parametrize("bad", [[[1.0, float("nan")]], [["a", "b"]], [[[1.0]]]])
def test_malformed_vectors_are_bad_requests(tmp_path: Path, bad: object) -> None:
    index = VectorIndex.open(tmp_path, "bad")
    with pytest.raises(BadRequestError):
        index.add(1, bad)  # type: ignore[arg-type]
    assert index.dimensions is None  # a rejected first vector fixes nothing


# ---------------------------------------------------------------- persistence


def test_save_and_open_round_trip(tmp_path: Path, dataset: Dataset) -> None:
    index = build(tmp_path, dataset, VectorKind.INT8)
    index.remove(17)
    before = [index.search(query, 10) for query in dataset.queries[:20]]
    index.save(checkpoint=1234)
    reopened = VectorIndex.open(tmp_path, "field", kind=VectorKind.INT8)
    assert reopened.checkpoint == 1234 and reopened.dimensions == 384
    assert reopened.document_count == 5999 and 17 not in reopened
    assert [reopened.search(query, 10) for query in dataset.queries[:20]] == before
    # The reopened index keeps accepting writes.
    reopened.add(6000, dataset.queries[0])
    assert reopened.search(dataset.queries[0], 1)[0][0] == 6000
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "field.g1.ids.npz",
        "field.g1.usearch",
        "field.g1.vectors.npy",
        "field.manifest.json",
    ]
    assert index.disk_bytes() > 6000 * 384 * 4


def test_save_before_any_vector(tmp_path: Path) -> None:
    VectorIndex.open(tmp_path, "empty").save(checkpoint=9)
    reopened = VectorIndex.open(tmp_path, "empty")
    assert reopened.checkpoint == 9 and reopened.dimensions is None
    reopened.add(1, [0.0, 1.0])
    [(key, score)] = reopened.search([0.0, 1.0], 1)
    assert key == 1 and score == pytest.approx(1.0)


def test_opening_with_other_parameters_is_refused(tmp_path: Path) -> None:
    index = VectorIndex.open(tmp_path, "params")
    index.add(1, [1.0, 0.0])
    index.save()
    with pytest.raises(ValueError, match="rebuild"):
        VectorIndex.open(tmp_path, "params", kind=VectorKind.INT8)
    with pytest.raises(VectorDimensionMismatchError):
        VectorIndex.open(tmp_path, "params", dimensions=3)
    VectorIndex.delete(tmp_path, "params")
    assert list(tmp_path.iterdir()) == []
    assert VectorIndex.open(tmp_path, "params", kind=VectorKind.INT8).document_count == 0


def test_unsafe_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        VectorIndex.open(tmp_path, "Auto/Products/ByVector")


def test_a_corrupt_manifest_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "broken.manifest.json").write_text("{not json")
    with pytest.raises(StorageError):
        VectorIndex.open(tmp_path, "broken")


def test_a_crash_before_the_manifest_rename_keeps_the_previous_save(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import os
        import numpy as np
        from rookdb.indexes.vector import VectorIndex, _files

        rng = np.random.default_rng(3)
        index = VectorIndex.open({str(tmp_path)!r}, "field")
        index.add_many(range(100), rng.standard_normal((100, 8)))
        index.save(checkpoint=1)
        index.add_many(range(100, 200), rng.standard_normal((100, 8)))
        index.remove(0)
        # Die like a killed process: new generation written, manifest not yet renamed.
        _files.os.replace = lambda *args: os._exit(3)
        index.save(checkpoint=2)
        """
    )
    died = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[3], timeout=120)
    assert died.returncode == 3
    assert (tmp_path / "field.g2.vectors.npy").exists() and (tmp_path / "field.manifest.json.tmp").exists()

    survivor = VectorIndex.open(tmp_path, "field")
    assert survivor.checkpoint == 1 and survivor.document_count == 100 and 0 in survivor and 150 not in survivor
    assert len(survivor.search(np.ones(8), 5, exact=True)) == 5
    survivor.save(checkpoint=3)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["field.g2.ids.npz", "field.g2.usearch", "field.g2.vectors.npy", "field.manifest.json"]
    assert VectorIndex.open(tmp_path, "field").checkpoint == 3


# ---------------------------------------------------------------- concurrency


def test_searches_run_while_a_writer_adds(tmp_path: Path, dataset: Dataset) -> None:
    index = VectorIndex.open(tmp_path, "concurrent")
    index.add_many(KEYS[:1000], dataset.vectors[:1000])
    failures: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        try:
            while not done.is_set():
                for key, _ in index.search(dataset.queries[0], 10):
                    assert 0 <= key < 6000
        except BaseException as error:  # surfaced below
            failures.append(error)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in readers:
        thread.start()
    for start in range(1000, 6000, 500):
        index.add_many(KEYS[start : start + 500], dataset.vectors[start : start + 500])
        index.remove(start - 1)
    index.save(checkpoint=1)
    done.set()
    for thread in readers:
        thread.join(timeout=60)
    assert not failures
    assert index.document_count == 6000 - 10
