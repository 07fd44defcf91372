import numpy as np
import pytest

from rookdb.indexes.vector.kinds import (
    ScoreSpace,
    VectorKind,
    minimum_score,
    normalize_rows,
    quantize_int8_rows,
    sign_bits,
)


def test_kinds_carry_ravendb_embedding_type_names() -> None:
    assert [kind.value for kind in VectorKind] == ["Single", "Int8", "Binary"]


@pytest.mark.parametrize(
    ("space", "minimum_similarity", "expected"),
    [
        # Voron keeps cosine distance <= 2 * (1 - s), i.e. cosine similarity >= 2s - 1.
        (ScoreSpace.COSINE, 0.0, -1.0),
        (ScoreSpace.COSINE, 0.5, 0.0),
        (ScoreSpace.COSINE, 0.8, 0.6),
        (ScoreSpace.COSINE, 1.0, 1.0),
        (ScoreSpace.HAMMING, 0.0, 0.0),
        (ScoreSpace.HAMMING, 0.75, 0.75),
    ],
)
def test_minimum_score_follows_voron(space: ScoreSpace, minimum_similarity: float, expected: float) -> None:
    assert minimum_score(space, minimum_similarity) == pytest.approx(expected, abs=1e-5)
    assert minimum_score(space, minimum_similarity) < expected  # the tolerance lets ties through


def test_sign_bits_pack_most_significant_first_with_zero_as_set() -> None:
    rows = np.array([[1.0, -1.0, 0.0, -0.5, 2.0, -3.0, -1.0, 1.0, 0.5, -0.1]], dtype=np.float32)
    # As RavenDB's VectorQuantizer.ToInt1: bit set for x >= 0, first component in the top bit.
    assert sign_bits(rows).tolist() == [[0b10101001, 0b10000000]]


def test_int8_quantization_uses_the_full_range_per_row() -> None:
    rows = np.array([[0.01, -0.02, 0.005], [3.0, 1.5, -3.0]], dtype=np.float32)
    assert quantize_int8_rows(rows).tolist() == [[64, -127, 32], [127, 64, -127]]


def test_normalize_rows_keeps_zero_rows_zero() -> None:
    unit = normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    assert unit.tolist() == [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
