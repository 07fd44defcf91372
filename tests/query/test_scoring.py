"""Scores of indexed queries: RavenDB's sums and boosts, and reciprocal rank fusion on request."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from rookdb.errors import InvalidQueryError
from rookdb.indexes.registry import IndexRegistry
from rookdb.query import ast
from rookdb.query.dynamic import run_dynamic
from rookdb.query.scoring import FUSION_PARAMETER, RRF_K, _fused, _ranks, fusion_of
from rookdb.storage.base import DocumentStorage
from tests.support.indexing import StorageSource, indexed_documents, indexed_northwind


@pytest.mark.parametrize(("value", "fusion"), [(None, None), ("sum", None), ("rrf", "rrf")])
def test_fusion_parameter(value: str | None, fusion: str | None) -> None:
    assert fusion_of({} if value is None else {FUSION_PARAMETER: value}, "q") == fusion


def test_unknown_fusion_is_an_invalid_query() -> None:
    with pytest.raises(InvalidQueryError, match="must be 'rrf' or 'sum'"):
        fusion_of({FUSION_PARAMETER: "max"}, "q")


def test_ranks_share_ties_and_fusion_weights_parts() -> None:
    assert _ranks({5: 0.9, 3: 0.5, 7: 0.9, 1: 0.1}) == {5: 1, 7: 1, 3: 3, 1: 4}
    fused = _fused([(1.0, {1: 3.0, 2: 1.0}), (2.0, {2: 0.9, 3: 0.8})])
    assert fused == pytest.approx({1: 1 / (RRF_K + 1), 2: 1 / (RRF_K + 2) + 2 / (RRF_K + 1), 3: 2 / (RRF_K + 2)})


class Similarities:
    """A vector search hook with fixed similarities (the vector engine is tested on its own)."""

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    def __call__(self, clause: ast.VectorSearch, parameters: Mapping[str, Any],
                 candidate_ids: Sequence[str]) -> dict[str, float]:
        return dict(self.scores)


@pytest.fixture(scope="module")
def northwind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StorageSource, IndexRegistry]]:
    with indexed_northwind(tmp_path_factory.mktemp("scoring")) as opened:
        yield opened


HYBRID = "from Products where vector.search(embedding.text(Name), $q) or search(Name, 'chef anton')"
VECTORS = {"products/4-A": 0.9, "products/77-A": 0.8, "products/5-A": 0.3}  # 4 and 5 are Chef Anton's


def scores(result: Any) -> dict[str, float]:
    return {item["@metadata"]["@id"]: item["@metadata"]["@index-score"] for item in result.results}


def test_hybrid_or_adds_similarity_and_bm25(northwind: tuple[StorageSource, IndexRegistry]) -> None:
    source, registry = northwind
    text_only = scores(run_dynamic("from Products where search(Name, 'chef anton')", {}, source, registry))
    hybrid = run_dynamic(HYBRID, {"q": "x"}, source, registry, vector_search=Similarities(VECTORS))
    found = scores(hybrid)
    assert hybrid.index_name == "Auto/Products/BySearch(Name)AndVector.search(embedding.text(Name))"
    assert set(found) == set(text_only) | set(VECTORS)
    for doc_id, score in found.items():
        assert score == pytest.approx(text_only.get(doc_id, 0.0) + VECTORS.get(doc_id, 0.0))
    assert list(found.values()) == sorted(found.values(), reverse=True)


def test_boosts_weigh_each_side(northwind: tuple[StorageSource, IndexRegistry]) -> None:
    source, registry = northwind
    text = ("from Products where boost(vector.search(embedding.text(Name), $q), 10) or "
            "boost(search(Name, 'chef anton'), 0.5)")
    boosted = scores(run_dynamic(text, {"q": "x"}, source, registry, vector_search=Similarities(VECTORS)))
    plain = scores(run_dynamic("from Products where search(Name, 'chef anton')", {}, source, registry))
    assert boosted["products/77-A"] == pytest.approx(8.0)
    assert boosted["products/4-A"] == pytest.approx(9.0 + plain["products/4-A"] / 2)


def test_reciprocal_rank_fusion_needs_no_tuning(northwind: tuple[StorageSource, IndexRegistry]) -> None:
    source, registry = northwind
    parameters = {"q": "x", FUSION_PARAMETER: "rrf"}
    fused = run_dynamic(HYBRID, parameters, source, registry, vector_search=Similarities(VECTORS))
    text_ranks = _ranks({int(doc_id.split("/")[1].split("-")[0]): score for doc_id, score in scores(
        run_dynamic("from Products where search(Name, 'chef anton')", {}, source, registry)).items()})
    vector_ranks = {4: 1, 77: 2, 5: 3}
    expected = {f"products/{n}-A": sum(1 / (RRF_K + ranks[n]) for ranks in (text_ranks, vector_ranks) if n in ranks)
                for n in set(text_ranks) | set(vector_ranks)}
    assert scores(fused) == pytest.approx(expected)
    assert fused.results[0]["@metadata"]["@id"] == "products/4-A"  # first on both sides
    weighted = run_dynamic("from Products where boost(vector.search(embedding.text(Name), $q), 3) or "
                           "search(Name, 'chef anton')", parameters, source, registry,
                           vector_search=Similarities(VECTORS))
    assert scores(weighted)["products/77-A"] == pytest.approx(3 / (RRF_K + 2))


SONGS = [("songs/1", "Come With Me"), ("songs/2", "Me Too"), ("songs/3", "Spanish Grease")]


@pytest.fixture(scope="module")
def songs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StorageSource, IndexRegistry]]:
    def write(storage: DocumentStorage) -> None:
        with storage.write() as tx:
            tx.put_many([(doc_id, "Songs", {"Title": title, "@metadata": {"@collection": "Songs"}})
                         for doc_id, title in SONGS], {})

    with indexed_documents(tmp_path_factory.mktemp("songs"), write) as opened:
        yield opened


@pytest.mark.parametrize(("common", "rare", "first"), [(10, 2, {"songs/1", "songs/2"}), (2, 10, {"songs/3"})])
def test_a_term_in_most_documents_keeps_its_weight(songs: tuple[StorageSource, IndexRegistry], common: int,
                                                    rare: int, first: set[str]) -> None:
    source, registry = songs
    text = f"from Songs where boost(search(Title, 'me'), {common}) or boost(search(Title, 'spanish'), {rare})"
    found = scores(run_dynamic(text, {}, source, registry))
    assert set(found) == {doc_id for doc_id, _ in SONGS}
    assert set(list(found)[:len(first)]) == first
    assert all(score > 0.1 for score in found.values())
