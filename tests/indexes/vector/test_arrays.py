import numpy as np

from rookdb.indexes.vector._arrays import GrowableArray


def test_appends_reallocate_only_logarithmically_often() -> None:
    array = GrowableArray((4,), np.float32)
    buffers = set()
    for i in range(5000):
        assert array.append(np.full((1, 4), i, dtype=np.float32)) == i
        buffers.add(id(array._data))
    assert len(array) == 5000 and array.view[4999, 0] == 4999
    assert len(buffers) <= 5  # 1024, 2048, 4096, 8192: capacity doubles


def test_starts_from_loaded_rows_and_views_share_memory() -> None:
    array = GrowableArray((), np.bool_, np.array([True, True, False]))
    array.view[0] = False
    assert array.view.tolist() == [False, True, False]
    assert array.append(np.array([True])) == 3
    assert array.view.tolist() == [False, True, False, True]
