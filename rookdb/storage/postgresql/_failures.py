"""psycopg's exceptions become rookdb's here, and nowhere else."""

from __future__ import annotations

import psycopg

from rookdb.errors import DatabaseDoesNotExistError, RookError, StorageError, StorageUnavailableError

__all__ = ["storage_failure"]

# SQLSTATEs saying the server cannot serve us right now (shutting down, starting, full), not that
# the request was wrong: clients should go to another node. Class 08 (connection exceptions) too.
_UNAVAILABLE_STATES = {"57P01", "57P02", "57P03", "53300"}
# The database's schema is gone: another node dropped the database.
_MISSING_STATES = {"3F000", "42P01"}


def storage_failure(action: str, error: psycopg.Error, database: str | None = None) -> RookError:
    """The rookdb error for a psycopg error raised while trying to ``action``."""
    state = error.sqlstate
    if isinstance(error, psycopg.InterfaceError) or (
            isinstance(error, psycopg.OperationalError)
            and (state is None or state.startswith("08") or state in _UNAVAILABLE_STATES)):
        return StorageUnavailableError(f"PostgreSQL is unavailable, could not {action}: {_first_line(error)}")
    if database is not None and state in _MISSING_STATES:
        return DatabaseDoesNotExistError(database)
    return StorageError(f"Storage failed to {action}: {_first_line(error)}")


def _first_line(error: psycopg.Error) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
