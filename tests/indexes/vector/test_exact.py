import numpy as np

from rookdb.indexes.vector.exact import top_cosine, top_hamming


def test_top_cosine_matches_a_full_sort() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((500, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    query = matrix[7]
    rows, scores = top_cosine(matrix, query, 10)
    expected = np.argsort(-(matrix @ query))[:10]
    assert rows.tolist() == expected.tolist()
    assert rows[0] == 7
    assert np.all(np.diff(scores) <= 0)


def test_top_cosine_over_a_subset_skips_dead_rows() -> None:
    matrix = np.eye(4, dtype=np.float32)
    query = np.array([1.0, 0.5, 0.25, 0.0], dtype=np.float32)
    alive = np.array([False, True, True, True])
    rows, scores = top_cosine(matrix, query, 5, rows=np.array([0, 1, 3]), alive=alive)
    assert rows.tolist() == [1, 3]
    assert scores.tolist() == [0.5, 0.0]


def test_top_hamming_scores_are_one_minus_differing_fraction() -> None:
    packed = np.array([[0b11110000], [0b11111111], [0b00001111]], dtype=np.uint8)
    rows, scores = top_hamming(packed, np.array([0b11110000], dtype=np.uint8), 3)
    assert rows.tolist() == [0, 1, 2]
    assert scores.tolist() == [1.0, 0.5, 0.0]
