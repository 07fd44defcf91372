"""On-disk layout of a vector index: generations of data files published by one atomic manifest.

``<name>.manifest.json`` names the current generation ``g``; its data files are
``<name>.g<g>.usearch`` (the graph), ``<name>.g<g>.vectors.npy`` (the full-precision or packed rows;
empty for ``Single``, whose graph stores the same f32 rows) and ``<name>.g<g>.ids.npz`` (row →
document key, live flags). A save writes a new generation's
files, fsyncs them, then replaces the manifest (write temp, fsync, rename, fsync the directory).
A crash before the rename leaves the previous manifest naming the previous, untouched generation;
files of unpublished or superseded generations are deleted by the next save.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from rookdb.errors import StorageError

if TYPE_CHECKING:
    from usearch.index import Index

__all__ = [
    "MANIFEST_FORMAT",
    "GenerationFiles",
    "Manifest",
    "check_name",
    "manifest_path",
    "publish",
    "read_back_rows",
    "read_manifest",
    "remove_all",
    "remove_other_generations",
    "sync_file",
]

MANIFEST_FORMAT = 1

_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Manifest:
    """What a saved index is and which generation of files holds it."""

    kind: str
    dimensions: int | None
    packed: bool | None  # Binary fed pre-quantized bits (no full-precision rows); None before the first add
    m: int
    ef_construction: int
    rows: int
    generation: int
    checkpoint: int
    format: int = MANIFEST_FORMAT


@dataclass(frozen=True)
class GenerationFiles:
    """The data files of one generation."""

    graph: Path
    vectors: Path
    ids: Path

    @classmethod
    def of(cls, directory: Path, name: str, generation: int) -> GenerationFiles:
        stem = f"{name}.g{generation}"
        return cls(directory / f"{stem}.usearch", directory / f"{stem}.vectors.npy", directory / f"{stem}.ids.npz")


def check_name(name: str) -> None:
    """Index file names must be plain: callers map ``Auto/Orders/By...`` names to safe ones."""
    if not _SAFE_NAME.fullmatch(name):
        raise ValueError(f"vector index name {name!r} is not a safe file name (use letters, digits, _ . -)")


def manifest_path(directory: Path, name: str) -> Path:
    return directory / f"{name}.manifest.json"


def read_manifest(directory: Path, name: str) -> Manifest | None:
    """The published manifest, or None when the index was never saved."""
    path = manifest_path(directory, name)
    try:
        raw: dict[str, Any] = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise StorageError(f"Cannot read vector index manifest {path}: {error}") from error
    if raw.get("format") != MANIFEST_FORMAT:
        raise StorageError(f"Vector index manifest {path} has unsupported format {raw.get('format')!r}")
    try:
        return Manifest(**raw)
    except TypeError as error:
        raise StorageError(f"Vector index manifest {path} is malformed: {error}") from error


def sync_file(path: Path) -> None:
    """Flush a finished file to disk so a published manifest never names a half-written one."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(directory: Path, name: str, manifest: Manifest) -> None:
    """Atomically make ``manifest`` current, then delete files of every other generation."""
    path = manifest_path(directory, name)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as out:
        out.write(json.dumps(asdict(manifest), indent=1).encode())
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    _sync_directory(directory)
    remove_other_generations(directory, name, manifest.generation)


def remove_other_generations(directory: Path, name: str, keep: int) -> None:
    """Delete leftovers: superseded generations and ones a crash left unpublished."""
    pattern = re.compile(re.escape(name) + r"\.g(\d+)\.(usearch|vectors\.npy|ids\.npz)")
    for entry in directory.iterdir():
        found = pattern.fullmatch(entry.name)
        if found and int(found.group(1)) != keep:
            entry.unlink(missing_ok=True)


def remove_all(directory: Path, name: str) -> None:
    """Delete every file of the index (manifest first, so a crash midway leaves no live index)."""
    manifest_path(directory, name).unlink(missing_ok=True)
    manifest_path(directory, name).with_name(f"{name}.manifest.json.tmp").unlink(missing_ok=True)
    remove_other_generations(directory, name, keep=-1)


def _sync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is; not supported on every platform.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


_READ_BACK_BATCH = 65536


def read_back_rows(graph: Index, rows: int, dimensions: int) -> npt.NDArray[np.float32]:
    """The stored rows of a ``Single`` index read back from its loaded graph (its generation keeps no
    vectors file); removed rows stay zero."""
    matrix = np.zeros((rows, dimensions), dtype=np.float32)
    for first in range(0, rows, _READ_BACK_BATCH):
        last = min(rows, first + _READ_BACK_BATCH)
        found = graph.get(np.arange(first, last, dtype=np.uint64))
        if isinstance(found, np.ndarray):
            matrix[first:last] = found
        elif found is not None:  # a tuple with None for removed rows
            for offset, vector in enumerate(found):
                if vector is not None:
                    matrix[first + offset] = vector
    return matrix
