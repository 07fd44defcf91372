"""Claims on an embeddings task's change feed, so that every live node embeds batches of one task.

A claim is a range of etags ``(start, end]`` of the task's collection feed, held by one worker (node
tag, process incarnation and a token of the worker). The claims of a task live in one state value
(``embeddings/<task id>/claims``) beside its position, and are only changed in write transactions,
which hold the database's one write lock (the head row on PostgreSQL, for every node): two workers
never take the same range, and reading the feed for a new claim under that lock sees every etag
below the ones it takes.

The claims always cover ``(position, frontier]`` without gaps or overlaps, in order. A new claim
starts at the frontier and ends at the last change it read; a claim whose holder is gone (its node
left the topology, or another worker of the same process replaced it) is free, and the next worker
redoes its range. Committing a batch marks its claim done in the same transaction as its embeddings
and, when it is the lowest claim, moves the position over it and over every done claim that follows:
batches finish in any order, and the position only ever passes ranges whose embeddings are stored.
A worker whose claim was taken commits nothing (``ClaimLostError``), so a range is committed once.

A document changed again after its range was claimed has moved to an etag above the frontier (etags
only grow), so a later claim holds its new version; the older claim, if it commits last, skips it
(``superseded``) rather than overwrite the newer embeddings.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rookdb.errors import NotResponsibleError
from rookdb.storage.base import Change, DocumentStorage, WriteTransaction

__all__ = ["Claim", "ClaimLostError", "ClaimedBatch", "FeedClaims", "superseded"]

Alive = Callable[[str, str], bool]
"""(node tag, incarnation) → True while that process is a live node."""


class ClaimLostError(NotResponsibleError):
    """The batch's claim went to another worker (this one was presumed gone): nothing is committed."""


@dataclass(frozen=True, slots=True)
class Claim:
    start: int
    """Exclusive: the range begins after this etag."""
    end: int
    node: str | None = None
    incarnation: str | None = None
    worker: str | None = None
    done: bool = False

    def to_state(self) -> dict[str, Any]:
        return {"Start": self.start, "End": self.end, "Node": self.node, "Incarnation": self.incarnation,
                "Worker": self.worker, "Done": self.done}

    @classmethod
    def from_state(cls, value: dict[str, Any]) -> Claim:
        return cls(int(value["Start"]), int(value["End"]), value.get("Node"), value.get("Incarnation"),
                   value.get("Worker"), bool(value.get("Done")))


@dataclass(frozen=True, slots=True)
class ClaimedBatch:
    claim: Claim
    changes: list[Change]
    """The changes of the range now (a document changed since has left it)."""
    end: int
    """Where this batch ends: the claim's end, or its last change when a smaller batch size cut it."""
    position: int
    """The task's position when the claim was taken."""


@dataclass(frozen=True, slots=True)
class _Claims:
    position: int
    frontier: int
    claims: tuple[Claim, ...]


class FeedClaims:
    """The claims of one generation of one task, as one worker takes and completes them."""

    def __init__(self, storage: DocumentStorage, state_key: Callable[[str], str], node: str, incarnation: str,
                 alive: Alive) -> None:
        self._storage = storage
        self._claims_key = state_key("claims")
        self._position_key = state_key("position")
        self._node = node
        self._incarnation = incarnation
        self._alive = alive
        self.worker = uuid.uuid4().hex[:12]
        """This worker's token: a claim of the same process with another token belongs to a worker that
        stopped (it is free)."""
        self.lock_wait = 0.0
        """Seconds the last ``take`` waited for the database's write lock (another writer held it)."""
        self._busy = False

    def _position(self) -> int:
        stored = self._storage.get_state(self._position_key)
        return stored if isinstance(stored, int) else 0

    def _load(self) -> _Claims:
        position = self._position()
        stored = self._storage.get_state(self._claims_key)
        if not isinstance(stored, dict):
            return _Claims(position, position, ())
        claims = tuple(Claim.from_state(value) for value in stored.get("Claims") or [])
        return _Claims(position, max(int(stored.get("Frontier") or 0), position), claims)

    def _store(self, tx: WriteTransaction, state: _Claims) -> None:
        tx.set_state(self._claims_key, {"Frontier": state.frontier,
                                        "Claims": [claim.to_state() for claim in state.claims]})

    def _mine(self, claim: Claim) -> bool:
        return (claim.node, claim.incarnation, claim.worker) == (self._node, self._incarnation, self.worker)

    def _free(self, claim: Claim) -> bool:
        if claim.done or self._mine(claim):
            return False
        if claim.node is None or claim.incarnation is None:
            return True
        if (claim.node, claim.incarnation) == (self._node, self._incarnation):
            return True  # a worker of this process that was replaced
        return not self._alive(claim.node, claim.incarnation)

    def _take(self, claim: Claim) -> Claim:
        return replace(claim, node=self._node, incarnation=self._incarnation, worker=self.worker)

    def take(self, collection: str | None, limit: int) -> ClaimedBatch | None:
        """Claim the lowest free range, or a new one of up to ``limit`` changes after the frontier;
        None when there is nothing to claim."""
        self.lock_wait = 0.0
        # An idle worker looks without the write lock first, so that it does not queue behind writers;
        # a busy one (its last claim was full) goes straight for the lock.
        if not self._busy and not self._claimable(collection):
            return None
        waiting = time.perf_counter()
        with self._storage.write() as tx:
            self.lock_wait = time.perf_counter() - waiting
            claimed = self._take_locked(tx, collection, limit)
        self._busy = claimed is not None and len(claimed.changes) == limit
        return claimed

    def _take_locked(self, tx: WriteTransaction, collection: str | None, limit: int) -> ClaimedBatch | None:
        state = self._load()
        free = next((claim for claim in state.claims if self._free(claim)), None)
        if free is not None:
            taken = self._take(free)
            self._store(tx, replace(state, claims=tuple(taken if claim is free else claim
                                                        for claim in state.claims)))
            read = self._storage.changes_since(free.start, limit, collection)
            changes = [change for change in read if change.etag <= free.end]
            # A range claimed by a node with a larger batch size is done in parts.
            end = changes[-1].etag if len(read) == limit and len(changes) == limit else free.end
            return ClaimedBatch(taken, changes, end, state.position)
        changes = self._storage.changes_since(state.frontier, limit, collection)
        if not changes:
            return None
        taken = self._take(Claim(state.frontier, changes[-1].etag))
        self._store(tx, _Claims(state.position, taken.end, (*state.claims, taken)))
        return ClaimedBatch(taken, changes, taken.end, state.position)

    def _claimable(self, collection: str | None) -> bool:
        state = self._load()
        return (any(self._free(claim) for claim in state.claims)
                or bool(self._storage.changes_since(state.frontier, 1, collection)))

    def complete(self, tx: WriteTransaction, claim: Claim, up_to: int) -> int:
        """Inside the batch's write transaction: mark ``(claim.start, up_to]`` done (a batch cut short
        frees the rest of its range) and return the task's new position; ``ClaimLostError`` when the
        claim is no longer this worker's."""
        state = self._load()
        current = next((held for held in state.claims if held.start == claim.start and self._mine(held)), None)
        if current is None:
            raise ClaimLostError(f"the claim on etags {claim.start + 1}..{claim.end} went to another node")
        parts = [replace(current, end=up_to, done=True)]
        if up_to < current.end:
            parts.append(Claim(up_to, current.end))
        claims: list[Claim] = []
        for held in state.claims:
            claims.extend(parts if held is current else [held])
        position = state.position
        while claims and claims[0].done and claims[0].start == position:
            position = claims.pop(0).end
        self._store(tx, replace(state, claims=tuple(claims)))
        return position

    def release(self) -> None:
        """Give up this worker's unfinished claims (after a failed batch, or when it stops)."""
        state = self._load()
        if not any(self._mine(claim) for claim in state.claims):
            return
        with self._storage.write() as tx:
            state = self._load()
            self._store(tx, replace(state, claims=tuple(
                Claim(claim.start, claim.end) if self._mine(claim) and not claim.done else claim
                for claim in state.claims)))

    def position(self) -> int:
        """The task's stored position (every change up to it is embedded)."""
        return self._position()


def superseded(storage: DocumentStorage, changes: Sequence[tuple[str, int, bool]]) -> set[str]:
    """The source ids, among ``(id, etag, deleted)`` planned changes, that changed again since (their
    newer version belongs to a later claim). Call inside the batch's write transaction before it writes
    documents: holding the write lock, the committed documents are the latest."""
    stale: set[str] = set()
    found = storage.get_many([source_id for source_id, _, _ in changes])
    for (source_id, etag, deleted), current in zip(changes, found, strict=True):
        if (current is not None) if deleted else (current is None or current.etag != etag):
            stale.add(source_id)
    return stale
