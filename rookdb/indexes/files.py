"""An index file's files on disk, renamed and removed together: the SQLite file, its WAL, and its
companion folder (what its definition saves of its memory beside it: static vector fields' graphs)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["COMPANION_SUFFIX", "companion_directory", "move_files", "remove_files"]

COMPANION_SUFFIX = ".saved"


def companion_directory(path: Path) -> Path:
    """The folder beside the index file ``path`` where its definition saves what it keeps in memory."""
    return path.with_name(path.name + COMPANION_SUFFIX)


def move_files(source: Path, target: Path) -> None:
    """Rename a closed index file (its WAL was checkpointed away) and its companion folder to
    ``target``'s. The folder goes first: a crash between the two leaves the file to be renamed again."""
    for suffix in ("-wal", "-shm", "-journal"):
        Path(str(source) + suffix).unlink(missing_ok=True)
    if companion_directory(source).is_dir():
        shutil.rmtree(companion_directory(target), ignore_errors=True)
        os.replace(companion_directory(source), companion_directory(target))
    os.replace(source, target)


def remove_files(path: Path) -> None:
    """Delete an index file, its WAL and its companion folder; the main file is renamed away first, so
    a crash midway never leaves a WAL that a new file of the same name would replay (a folder left
    behind is removed with the next file of that name, or at the next start)."""
    doomed = path.with_name(path.name + ".deleted")
    if path.exists():
        os.replace(path, doomed)
    for suffix in ("-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    doomed.unlink(missing_ok=True)
    shutil.rmtree(companion_directory(path), ignore_errors=True)
