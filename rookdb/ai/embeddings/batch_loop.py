"""The batch loop of an embeddings worker: three batches in flight, commits in feed order.

The next batch is read after the last one (or, over several nodes, claimed: ``claims.py``), planned and
looked up in the cache while the current one is embedded and the one before is written, so the provider
is never idle waiting for the database. A failed batch drops the pipeline (claims are given up, the
batch being written is kept if it can be stored) and reading starts again at the committed position;
the worker's failure policy decides how long to wait first.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Protocol

from rookdb.ai.embeddings.batch import BatchPlan
from rookdb.ai.embeddings.claims import ClaimLostError
from rookdb.errors import NotResponsibleError

__all__ = ["BatchLoop", "BatchSteps"]

logger = logging.getLogger("rookdb.ai.embeddings")

# Batches whose vectors may still be uncommitted when a later batch is looked up in the cache.
_PIPELINE_DEPTH = 3


class BatchSteps(Protocol):
    """What the loop drives: one worker's steps (all called on the provider loop)."""

    @property
    def stopping(self) -> bool:
        """True once the worker is asked to stop: the loop ends after the batch in flight."""
        ...

    @property
    def position(self) -> int:
        """The committed position: reading starts again there after a failure."""
        ...

    def clear_wake(self) -> None: ...

    async def prepare(self, position: int) -> BatchPlan | None:
        """The next batch after ``position`` (or the next claimed range), planned, with its cache hits;
        None when there is none."""
        ...

    async def caught_up(self) -> bool:
        """Nothing left to read: wait for news; True when the worker's work is done."""
        ...

    async def within_budget(self, plan: BatchPlan) -> BatchPlan | None:
        """The batch starts: ``plan`` cut to what today's token budget pays for; None when not one
        document fits."""
        ...

    async def wait_for_budget(self) -> None: ...

    async def embed(self, plan: BatchPlan, uncommitted: deque[dict[str, bytes]]) -> None:
        """Fill the plan's vectors (``uncommitted``: what batches not committed yet embedded)."""
        ...

    async def commit(self, plan: BatchPlan) -> None: ...

    async def failed(self, error: Exception, documents: int) -> None:
        """A batch failed: record it and pause as the failure policy says."""
        ...

    def release_claims(self) -> None:
        """Give up every claim held (over several nodes; a thread)."""
        ...


class BatchLoop:
    """Runs ``steps`` until they stop or are done."""

    def __init__(self, steps: BatchSteps, task_name: str, *, claimed: bool) -> None:
        self._steps = steps
        self._task_name = task_name
        self._claimed = claimed

    async def run(self) -> None:
        steps = self._steps
        writing: asyncio.Task[None] | None = None
        upcoming: asyncio.Task[BatchPlan | None] | None = None
        # Vectors embedded by batches that may not be committed yet: the next batch's cache lookup
        # ran before they were, and must not pay for the same text again.
        uncommitted: deque[dict[str, bytes]] = deque(maxlen=_PIPELINE_DEPTH)
        read_position = steps.position
        while not steps.stopping:
            steps.clear_wake()
            plan: BatchPlan | None = None
            try:
                prepared = upcoming if upcoming is not None else asyncio.create_task(steps.prepare(read_position))
                upcoming = None
                plan = await prepared
                if plan is None:
                    if writing is not None:
                        finished, writing = writing, None
                        await finished
                        continue
                    uncommitted.clear()
                    if await steps.caught_up():
                        return
                    continue
                _mark_reused(plan, uncommitted)
                fitting = await steps.within_budget(plan)
                if fitting is None:  # not one more document fits in today's budget
                    await self._drop(None, writing)
                    writing = None
                    uncommitted.clear()
                    read_position = steps.position
                    await steps.wait_for_budget()
                    continue
                plan = fitting
                read_position = plan.last_etag
                upcoming = asyncio.create_task(steps.prepare(read_position))
                await steps.embed(plan, uncommitted)
                if writing is not None:
                    finished, writing = writing, None
                    await finished  # batches commit in feed order
                writing = asyncio.create_task(steps.commit(plan))
            except asyncio.CancelledError:
                raise
            except ClaimLostError as lost:
                logger.info("Embeddings task %s: %s", self._task_name, lost.message)
                await self._drop(upcoming, writing)
                upcoming = writing = None
                uncommitted.clear()
            except NotResponsibleError:
                for pending in (upcoming, writing):
                    if pending is not None:
                        pending.cancel()
                        await asyncio.gather(pending, return_exceptions=True)
                raise
            except Exception as error:
                await self._drop(upcoming, writing)
                upcoming = writing = None
                uncommitted.clear()
                read_position = steps.position
                await steps.failed(error, len(plan.documents) if plan is not None else 0)
        await self._drop(upcoming, writing)

    async def _drop(self, upcoming: asyncio.Task[BatchPlan | None] | None, writing: asyncio.Task[None] | None) -> None:
        """Let the batch being written finish (it is embedded already: keep it if it can be stored) and
        drop the next one; its claim, and any other this worker still holds, is given up."""
        if upcoming is not None:
            if not self._claimed:
                upcoming.cancel()  # a claim being taken is let finish, then released
            await asyncio.gather(upcoming, return_exceptions=True)
        if writing is not None:
            await asyncio.gather(writing, return_exceptions=True)
        if self._claimed:
            await asyncio.to_thread(self._steps.release_claims)


def _mark_reused(plan: BatchPlan, uncommitted: deque[dict[str, bytes]]) -> None:
    """Serve the cache misses that a batch still being written embedded already."""
    for digest in plan.misses:
        for recent in uncommitted:
            if digest in recent:
                plan.vectors[digest] = recent[digest]
                plan.reused.add(digest)
                break
