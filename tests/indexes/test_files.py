"""An index file's WAL and companion folder are renamed and removed with it."""

from __future__ import annotations

from pathlib import Path

from rookdb.indexes.files import companion_directory, move_files, remove_files


def make(path: Path) -> None:
    path.write_bytes(b"file")
    Path(str(path) + "-wal").write_bytes(b"wal")
    companion_directory(path).mkdir()
    (companion_directory(path) / "graph").write_bytes(b"graph")


def test_moving_carries_the_companion_folder_over_the_target_s(tmp_path: Path) -> None:
    source, target = tmp_path / "a.index.sqlite3", tmp_path / "b.index.sqlite3"
    make(source)
    companion_directory(target).mkdir()
    (companion_directory(target) / "stale").write_bytes(b"old")
    move_files(source, target)
    assert sorted(item.name for item in tmp_path.iterdir()) == ["b.index.sqlite3", "b.index.sqlite3.saved"]
    assert [item.name for item in companion_directory(target).iterdir()] == ["graph"]


def test_removing_takes_the_wal_and_the_companion_folder(tmp_path: Path) -> None:
    path = tmp_path / "a.index.sqlite3"
    make(path)
    remove_files(path)
    assert not list(tmp_path.iterdir())
