"""Background services: the one lifecycle every worker has, and the one event loop for provider I/O.

A ``BackgroundService`` is owned by a composition root (the database catalog builds each database's
services), never started at import. ``start`` runs it, ``wake`` says there may be new work (a
committed write), and ``stop`` ends it within a bound:

- ``drain=True`` lets the unit of work in flight finish (an indexing step, an embeddings batch);
- ``drain=False`` cancels it where it can be cancelled (a coroutine), safe because no unit of work
  commits half of itself;
- after ``timeout`` the forced exit: a coroutine is cancelled, a thread is abandoned (it is a daemon)
  and ``stop`` answers False.

Two kinds are built here: ``LoopingService`` runs a ``step`` on its own thread while the step reports
more work, and ``CoroutineService`` runs one coroutine on the ``ProviderLoop``, the single asyncio
loop (one thread for the whole app) where provider I/O happens.

``Foreground`` counts the requests being answered; work that can wait (a migration building a task's
next generation) yields to them between its units, and ``requests_in_flight`` tells work that shares
the process's cores (the embedded model's threads) whether any server in the process is answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import Any, ParamSpec, Protocol, TypeVar

__all__ = [
    "DEFAULT_FORCED_EXIT_SECONDS",
    "DEFAULT_STOP_TIMEOUT_SECONDS",
    "DEFAULT_YIELD_SECONDS",
    "BackgroundService",
    "CoroutineService",
    "DaemonThreadPool",
    "Foreground",
    "LoopingService",
    "ProviderLoop",
    "requests_in_flight",
    "stop_all",
]

logger = logging.getLogger("rookdb.background")

_T = TypeVar("_T")
_P = ParamSpec("_P")

# How long ``stop`` waits for the work in flight when the caller gives no timeout.
DEFAULT_STOP_TIMEOUT_SECONDS = 10.0
# After the timeout, how long a cancelled coroutine gets to unwind (close its HTTP client).
DEFAULT_FORCED_EXIT_SECONDS = 1.0
# Blocking calls made from provider coroutines (storage reads and writes, the embedded model) run on
# this many threads; each embeddings task keeps a few in use while its batches are pipelined.
DEFAULT_PROVIDER_THREADS = 16
# Longest a unit of background work waits for a moment without requests: under a steady stream of
# queries it still moves on.
DEFAULT_YIELD_SECONDS = 0.05
# How long after the last request's answer left its thread background work still waits: the answer
# is then rendered and sent on the event loop, which a resuming unit would slow down.
DEFAULT_SETTLE_SECONDS = 0.002
# How often ``Foreground.yield_while`` asks whether it may go on waiting.
DEFAULT_YIELD_POLL_SECONDS = 0.002


class BackgroundService(Protocol):
    """A worker owned by a composition root: started, woken on new work, stopped within a bound."""

    @property
    def name(self) -> str: ...

    def start(self) -> None:
        """Begin working; starting a started service does nothing."""

    def wake(self) -> None:
        """Look for work now (there may be new changes); safe from any thread, before start or after stop."""

    def stop(self, *, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """Stop within ``timeout`` seconds (see the module docstring); True when it stopped in time."""


def stop_all(services: Sequence[BackgroundService], *, drain: bool = True,
             timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
    """Stop ``services`` in parallel, each within ``timeout``; True when every one stopped in time."""
    if len(services) <= 1:
        return all(service.stop(drain=drain, timeout=timeout) for service in services)
    with ThreadPoolExecutor(max_workers=len(services), thread_name_prefix="rookdb-stop") as pool:
        return all(pool.map(lambda service: service.stop(drain=drain, timeout=timeout), services))


class Foreground:
    """The requests being answered now (the request layer counts them, ``serving``). Background work
    that can wait calls ``yield_to`` between its units: on a core shared with queries, every unit
    that runs beside one lengthens it. Safe from any thread."""

    def __init__(self) -> None:
        self._quiet = threading.Condition()
        self._in_flight = 0
        self._ended = 0.0
        self.settle = DEFAULT_SETTLE_SECONDS
        _FOREGROUNDS.add(self)

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Count one request for the duration."""
        with self._quiet:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._quiet:
                self._in_flight -= 1
                self._ended = time.monotonic()
                if not self._in_flight:
                    self._quiet.notify_all()

    @property
    def busy(self) -> bool:
        return self._in_flight > 0

    def yield_to(self, limit: float = DEFAULT_YIELD_SECONDS) -> bool:
        """Wait (a thread) until no request is in flight and none ended in the last ``settle`` seconds,
        at most ``limit`` seconds; True when that moment came, False when the limit ended the wait."""
        settle = self.settle
        deadline = time.monotonic() + limit
        with self._quiet:
            while True:
                now = time.monotonic()
                if not self._in_flight and now - self._ended >= settle:
                    return True
                if now >= deadline:
                    return False
                if self._in_flight:
                    self._quiet.wait(deadline - now)
                else:
                    self._quiet.wait(min(self._ended + settle, deadline) - now)

    def yield_while(self, allowed: Callable[[], bool], limit: float,
                    poll: float = DEFAULT_YIELD_POLL_SECONDS) -> bool:
        """``yield_to`` for at most ``limit`` seconds, ending the wait early once ``allowed()`` is False
        (checked every ``poll`` seconds): work that holds something others may need (a write lock)
        waits only while nobody waits for it. True when a moment without requests came."""
        deadline = time.monotonic() + limit
        while allowed():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self.yield_to(min(remaining, poll)):
                return True
        return False


_FOREGROUNDS: weakref.WeakSet[Foreground] = weakref.WeakSet()


def requests_in_flight() -> bool:
    """Whether any ``Foreground`` of this process is serving a request now."""
    return any(foreground.busy for foreground in list(_FOREGROUNDS))


class _Lifecycle:
    """What both kinds of service share: a name for logs, a stop flag their work polls, a start lock."""

    def __init__(self, name: str, log: logging.Logger) -> None:
        self._name = name
        self._log = log
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()


class LoopingService(_Lifecycle):
    """A thread calling ``step`` while it returns True (more work); when it returns False the thread
    sleeps until ``wake`` or ``idle_interval`` seconds. A step that raises is logged and counts as
    "no more work": the thread lives on and the next wake-up retries. A long step should return
    early once ``stopping`` is True. With ``start_idle`` the first step waits for a wake-up or the
    idle interval (a service that runs on a schedule)."""

    def __init__(self, name: str, step: Callable[[], bool], *, idle_interval: float, start_idle: bool = False,
                 log: logging.Logger = logger) -> None:
        super().__init__(name, log)
        self._step = step
        self._idle_interval = idle_interval
        self._start_idle = start_idle
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        with self._lock:
            if self.running:
                return
            self._stopping.clear()
            self._wake.clear()  # set by the last stop; a first step runs anyway unless ``start_idle``
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, *, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        """A step cannot be interrupted from outside, so ``drain`` changes nothing here: the step in
        progress sees ``stopping`` and should return at its next checkpoint."""
        with self._lock:
            self._stopping.set()
            self._wake.set()
            thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            self._log.error("%s did not stop within %.1fs; its thread is abandoned", self._name, timeout)
            return False
        return True

    def _run(self) -> None:
        if self._start_idle:
            self._wake.wait(self._idle_interval)
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                busy = self._step()
            except Exception:  # the thread must outlive any single failure; the next wake-up retries
                self._log.exception("%s failed", self._name)
                busy = False
            if not busy and not self._stopping.is_set():
                self._wake.wait(self._idle_interval)


class DaemonThreadPool(ThreadPoolExecutor):
    """An executor of daemon threads (the provider loop's ``asyncio.to_thread``, the request threads):
    a blocking call still running when the server stops (an embedded-model batch whose coroutine was
    cancelled, a query waiting for its index) is abandoned instead of holding up the exit as
    ``ThreadPoolExecutor``'s threads would. It is one by type only (asyncio insists); ``submit`` and
    ``shutdown`` are its own."""

    def __init__(self, max_workers: int, name: str) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=name)
        self._name = name
        self._calls: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = queue.SimpleQueue()
        self._daemons: list[threading.Thread] = []
        self._idle_daemons = threading.Semaphore(0)
        self._submit_lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()
        with self._submit_lock:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")
            self._calls.put((future, functools.partial(fn, *args, **kwargs)))
            if not self._idle_daemons.acquire(blocking=False) and len(self._daemons) < self._max_workers:
                thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._daemons)}", daemon=True)
                self._daemons.append(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while (item := self._calls.get()) is not None:
            future, call = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call())
                except BaseException as error:
                    future.set_exception(error)
            del item, future, call
            self._idle_daemons.release()
        self._calls.put(None)  # pass the end on to the next thread

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._submit_lock:
            self._closed = True
        if cancel_futures:
            with contextlib.suppress(queue.Empty):
                while (item := self._calls.get_nowait()) is not None:
                    item[0].cancel()
        self._calls.put(None)
        if wait:
            self.join(None)

    def join(self, timeout: float | None) -> bool:
        """Wait (at most ``timeout`` seconds in all) for the threads to end after ``shutdown``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._daemons:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._daemons)


class ProviderLoop:
    """The app's one asyncio loop for provider I/O, on its own thread, started on first use.

    The composition root owns it (one per catalog, so one per server) and stops it last, after every
    service that runs coroutines on it.
    """

    def __init__(self, name: str = "rookdb-providers", *, threads: int = DEFAULT_PROVIDER_THREADS) -> None:
        self._name = name
        self._threads = threads
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._executor: DaemonThreadPool | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (started now if it is not)."""
        with self._lock:
            if self._loop is None:
                self._executor = DaemonThreadPool(self._threads, self._name)
                loop = asyncio.new_event_loop()
                loop.set_default_executor(self._executor)
                self._thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                self._thread.start()
                self._loop = loop
            return self._loop

    def submit(self, coroutine: Coroutine[Any, Any, _T]) -> Future[_T]:
        """Schedule ``coroutine`` on the loop; safe from any thread but the loop's own."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, _T], timeout: float) -> _T:
        """Run ``coroutine`` and wait for its result; ``TimeoutError`` (after cancelling it) past ``timeout``."""
        future = self.submit(coroutine)
        try:
            return future.result(timeout)
        except FutureTimeoutError:
            future.cancel()
            raise TimeoutError(f"took longer than {timeout:g} seconds") from None

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on the loop soon; nothing happens once the loop is stopped."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed between the check and the call
                loop.call_soon_threadsafe(callback)

    def stop(self, timeout: float = DEFAULT_FORCED_EXIT_SECONDS) -> bool:
        """Cancel what still runs on the loop, stop and close it, and wait for the blocking calls it
        started; all within about ``timeout`` seconds. True when everything ended in time."""
        with self._lock:
            loop, thread, executor = self._loop, self._thread, self._executor
            self._loop = self._thread = self._executor = None
        if loop is None or thread is None or executor is None:
            return True
        deadline = time.monotonic() + timeout

        async def cancel_remaining() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=timeout)

        cancelling = cancel_remaining()
        try:
            asyncio.run_coroutine_threadsafe(cancelling, loop).result(timeout)
        except FutureTimeoutError:
            pass
        except RuntimeError:  # the loop is closed already: the coroutine never ran
            cancelling.close()
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)
        thread.join(max(0.0, deadline - time.monotonic()))
        executor.shutdown(wait=False, cancel_futures=True)
        calls_ended = executor.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive() or not calls_ended:
            logger.error("The provider loop did not stop within %.1fs", timeout)
            return False
        loop.close()
        return True


class CoroutineService(_Lifecycle):
    """A service whose work is one coroutine (``main``) on the ``ProviderLoop``.

    ``main`` loops until ``stopping`` and waits for work with ``sleep``, which a stop always ends and a
    wake-up ends when asked. Draining lets ``main`` return by itself; otherwise, or past the timeout,
    its task is cancelled (the forced exit) and gets ``DEFAULT_FORCED_EXIT_SECONDS`` to unwind.
    """

    def __init__(self, name: str, loop: ProviderLoop, main: Callable[[], Coroutine[Any, Any, None]],
                 *, log: logging.Logger = logger) -> None:
        super().__init__(name, log)
        self._loop = loop
        self._main = main
        self._wake = asyncio.Event()  # bound to the provider loop on first use
        self._task: asyncio.Task[None] | None = None  # touched on the loop only
        self._finished: threading.Event | None = None

    @property
    def running(self) -> bool:
        finished = self._finished
        return finished is not None and not finished.is_set()

    def start(self) -> None:
        with self._lock:
            if self.running:
                return
            self._stopping.clear()
            self._wake = asyncio.Event()  # a restarted provider loop is a new loop
            finished = self._finished = threading.Event()
            self._loop.loop.call_soon_threadsafe(self._spawn, finished)

    def _spawn(self, finished: threading.Event) -> None:
        self._task = asyncio.get_running_loop().create_task(self._guarded(), name=self._name)
        # Runs however the task ends, even when it is cancelled before its first step.
        self._task.add_done_callback(lambda _: finished.set())

    async def _guarded(self) -> None:
        try:
            await self._main()
        except Exception:
            self._log.exception("%s stopped unexpectedly", self._name)

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def wake(self) -> None:
        self._loop.call_soon(self._wake.set)

    def clear_wake(self) -> None:
        """Forget earlier wake-ups (on the loop, before looking for work)."""
        self._wake.clear()

    async def sleep(self, seconds: float, *, wakeable: bool = True) -> None:
        """Wait ``seconds``; a stop always ends the wait, a wake-up (consumed here) only when ``wakeable``."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                return
            self._wake.clear()
            if wakeable:
                return

    def stop(self, *, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        with self._lock:
            self._stopping.set()
            finished, self._finished = self._finished, None
        if finished is None:
            return True
        self._loop.call_soon(self._wake.set)
        if drain and finished.wait(timeout):
            return True
        if drain:
            self._log.warning("%s did not drain within %.1fs; cancelling its work", self._name, timeout)
        self._loop.call_soon(self._cancel)
        if not finished.wait(DEFAULT_FORCED_EXIT_SECONDS):
            self._log.error("%s did not stop after being cancelled", self._name)
            return False
        return True
