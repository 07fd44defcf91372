"""Removing the sections of generations a task no longer needs: after a swap, or when a migration is
cancelled or its task deleted.

The record lists what to remove (``SectionCleanup``, written in the same record transaction as the
swap, the cancel or the delete), so a crash half-way through only means starting again: normalizing a
document twice writes nothing the second time. A cleaner thread works through the list a page of
embeddings documents per transaction, then forgets the entry. It can wait: before each page it
yields to the requests being answered (``foreground``), and its pages are small, so a query arriving
mid-page waits for the write lock only briefly.
"""

from __future__ import annotations

import logging
import threading

from rookdb.ai.embeddings.generations import SectionCleanup, normalize_sections
from rookdb.ai.embeddings.layout import embeddings_collection
from rookdb.ai.embeddings.worker import state_key
from rookdb.background import Foreground
from rookdb.documents.ai_record import AiRecord
from rookdb.errors import RookError
from rookdb.storage.base import DocumentStorage

__all__ = ["DEFAULT_CLEANUP_PAGE", "SectionCleaner", "dead_states"]

# Embeddings documents rewritten per transaction: a query that needs the write lock (its search term's
# cache entry) waits for at most one page.
DEFAULT_CLEANUP_PAGE = 64
_JOIN_SECONDS = 2.0

logger = logging.getLogger("rookdb.ai.embeddings")


def dead_states(storage: DocumentStorage, task_id: int, live: tuple[int, ...]) -> list[str]:
    """State keys of a task's generations that are not ``live`` any more (``g<n>/...`` or, for
    generation 0, the task's own keys)."""
    prefix = state_key(task_id)
    dead: list[str] = []
    for key in storage.states(prefix):
        part = key[len(prefix):]
        head = part.split("/", 1)[0]
        generation = int(head[1:]) if "/" in part and head[:1] == "g" and head[1:].isdigit() else 0
        if generation not in live:
            dead.append(key)
    return dead


class SectionCleaner:
    """Works through the record's clean-ups on a thread of its own; ``run`` starts it when idle."""

    def __init__(self, storage: DocumentStorage, ai: AiRecord, page: int = DEFAULT_CLEANUP_PAGE, *,
                 foreground: Foreground | None = None) -> None:
        self._storage = storage
        self._ai = ai
        self._page = page
        self._foreground = foreground
        """The requests being answered: each page waits (briefly) for a moment without one."""
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False
        self._stopping = False

    def run(self) -> None:
        """Clean up what the record lists (now, or again once the clean-up in progress is done)."""
        with self._lock:
            if self._stopping:
                return
            self._again = True
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._loop, name="rookdb-embeddings-cleanup", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            thread = self._thread
        if thread is not None:
            thread.join(_JOIN_SECONDS)

    @property
    def busy(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._again or self._stopping:
                    self._thread = None
                    return
                self._again = False
            try:
                for cleanup in self._ai.cleanups():
                    if not self._clean(cleanup):
                        return
                    self._ai.cleanup_done(cleanup)
            except RookError as error:
                logger.warning("Removing old embeddings failed (retried at the next change): %s", error.message)

    def _clean(self, cleanup: SectionCleanup) -> bool:
        """Normalize every embeddings document of the collection; False when stopped first."""
        collection = embeddings_collection(cleanup.collection)
        after = 0
        while not self._stopping:
            if self._foreground is not None:
                self._foreground.yield_to()
            changes = self._storage.changes_since(after, self._page, collection)
            if not changes:
                return True
            with self._storage.write() as tx:
                for change in changes:
                    document = tx.get(change.id)
                    if document is not None and document.collection.lower() == collection.lower():
                        normalize_sections(tx, document, cleanup.collection, cleanup.identifier, cleanup.keep,
                                           cleanup.serving)
            after = changes[-1].etag
        return False
