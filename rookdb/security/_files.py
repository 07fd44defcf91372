"""Writing security files: whole or not at all, readable by the owner alone."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

OWNER_ONLY = 0o600
PUBLIC_READ = 0o644


def write_file(path: Path, data: bytes, mode: int = OWNER_ONLY) -> None:
    """Replace ``path`` atomically (temp file, fsync, rename) with ``mode`` set before any byte is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(descriptor, mode)  # the umask may have narrowed or widened what open() set
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def is_owner_only(path: Path) -> bool:
    return (path.stat().st_mode & 0o077) == 0
