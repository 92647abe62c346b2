"""The process's thread budget: how many threads may run user code of branches at once;
and threads kept for the next invocation's work (`spawn`).

Owns `ThreadBudget` and the process's one budget (`BUDGET`, `MAX_THREADS` slots), shared
by every map and parallel of every invocation, nested ones included, and by the sync
bodies of the async face (`run_off_loop`). Imports only the standard library.

`spawn` runs a function on a thread of its own, as `threading.Thread(...).start()` would,
on a thread whose earlier work has ended when one is waiting for more: an invocation's
checkpoint sender then costs a hand-off (~20 us) instead of starting a thread and joining
it (~150 us of CPU on a small VM). A thread waits `KEEP_SECONDS` for more work, then exits
(so for a minute after an invocation the process still has its sender's thread). Each
function runs in a context of its own (context variables start unset, as on a new thread);
thread-local values and the thread's identity carry over to the next function, so work
given to `spawn` must rely on neither being new.

A slot is held by a thread while it runs a branch (the sync face) or a sync body called
from the event loop (the async face). A batch admits a branch only with a free slot; a
worker that finishes a branch hands its slot straight to the next branch it admits. A
thread that holds a slot and then waits for a nested batch lends its slot back while it
waits (`lend`), so nesting cannot exhaust the budget with threads that only wait: no
nesting depth deadlocks. Taking the slot back after such a wait never blocks (the budget
may be overdrawn for a moment); new admissions wait until it recovers.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import concurrent.futures

T = TypeVar("T")

KEEP_SECONDS = 60.0
"""How long a thread whose work has ended waits for more before it exits."""
MAX_KEPT = 256
"""Threads kept waiting at most (one more that ends its work exits at once)."""

MAX_THREADS = 256
"""Threads running branches or sync bodies at once in the process."""
MAX_OFF_LOOP_THREADS = 64
"""Threads of the async face's sync bodies (each also takes a slot of the budget)."""


class ThreadBudget:
    """A count of slots with non-blocking, blocking and overdraft acquisition.

    Args:
        size: the number of slots.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = size
        self._lock = threading.Lock()
        """Entered as itself, not through `_cond` (entering a Condition is a Python call)."""
        self._cond = threading.Condition(self._lock)
        self._waiting = 0
        """Threads blocked in `acquire` (a release notifies only when there are some)."""
        self._local = _Marks()
        self._holding = _Holding(self._local)

    @property
    def free(self) -> int:
        """Slots free now (negative while overdrawn)."""
        return self._free

    def try_acquire(self) -> bool:
        """Take a slot if one is free."""
        with self._lock:
            if self._free > 0:
                self._free -= 1
                return True
            return False

    def acquire(self) -> None:
        """Take a slot, waiting for one."""
        with self._lock:
            while self._free <= 0:
                self._waiting += 1
                try:
                    self._cond.wait()
                finally:
                    self._waiting -= 1
            self._free -= 1

    def force_acquire(self) -> None:
        """Take a slot now, overdrawing the budget if none is free."""
        with self._lock:
            self._free -= 1

    def release(self) -> None:
        """Give a slot back."""
        with self._lock:
            self._free += 1
            if self._waiting:
                self._cond.notify()

    def holding(self) -> AbstractContextManager[None]:
        """Mark the calling thread as holding a slot (it already took one) while inside."""
        return self._holding

    @contextmanager
    def lend(self) -> Iterator[None]:
        """While inside, the calling thread's slot (if it holds one) is free for others."""
        if not self._local.holds:
            yield
            return
        self.release()
        self._local.holds = False
        try:
            yield
        finally:
            self.force_acquire()
            self._local.holds = True


class _Marks(threading.local):
    """What one thread holds of a budget, set up when the thread first reads it: not
    `getattr(..., default)`, since a `threading.local` miss raises and formats an
    `AttributeError`, and every branch of a batch may run on a new thread."""

    def __init__(self) -> None:
        self.holds = False
        """The thread holds a slot."""
        self.previous: list[bool] = []
        """`holds` outside each `holding()` the thread is inside."""


class _Holding:
    """`ThreadBudget.holding()`: one object per budget, re-entrant, its state per thread."""

    __slots__ = ("_local",)

    def __init__(self, local: _Marks) -> None:
        self._local = local

    def __enter__(self) -> None:
        local = self._local
        local.previous.append(local.holds)
        local.holds = True

    def __exit__(self, *exc_info: object) -> None:
        local = self._local
        local.holds = local.previous.pop()


BUDGET = ThreadBudget(MAX_THREADS)
"""The process's budget."""

_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                import concurrent.futures  # loaded by the first sync body on the async face

                _pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=MAX_OFF_LOOP_THREADS, thread_name_prefix="perdure-sync-body"
                )
    return _pool


def _in_budget(func: Callable[[], T]) -> T:
    BUDGET.acquire()
    try:
        with BUDGET.holding():
            return func()
    finally:
        BUDGET.release()


def run_off_loop(func: Callable[[], T]) -> concurrent.futures.Future[T]:
    """Call `func` on a worker thread, within the budget, with the caller's context variables."""
    context = contextvars.copy_context()
    future: concurrent.futures.Future[Any] = _executor().submit(context.run, _in_budget, func)
    return future


class Job:
    """A function `spawn` runs on a thread of its own; `wait` returns once it has returned.

    In a process forked while it ran, it counts as done (as a joined thread does there):
    the child has no thread that would end it.
    """

    __slots__ = ("_done", "_func", "_name", "_pid")

    def __init__(self, func: Callable[[], object], name: str) -> None:
        self._func: Callable[[], object] | None = func
        self._name = name
        self._done = threading.Event()
        """Set when the function has returned (an Event: an interrupted `wait` leaves no state)."""
        self._pid = os.getpid()

    def wait(self) -> None:
        """Block until the function has returned (or raised)."""
        if self._pid == os.getpid():
            self._done.wait()

    def done(self) -> bool:
        """Whether the function has returned (or raised)."""
        return self._done.is_set() or self._pid != os.getpid()


class _Worker:
    """A thread's loop: run its job, then wait to be handed another (`spawn`)."""

    __slots__ = ("job", "wake")

    def __init__(self, job: Job) -> None:
        self.job: Job | None = job
        self.wake = threading.Lock()
        self.wake.acquire()

    def run(self) -> None:
        job = self.job
        while job is not None:
            self.job = None
            func, job._func = job._func, None  # a kept thread keeps nothing of its last work
            assert func is not None
            thread = threading.current_thread()
            if thread.name != job._name:
                thread.name = job._name
            try:
                contextvars.Context().run(func)
            finally:
                job._done.set()
            del func, job
            job = self._wait_for_work()

    def _wait_for_work(self) -> Job | None:
        with _kept.lock:
            if len(_kept.workers) >= MAX_KEPT:
                return None
            _kept.workers.append(self)
        if not self.wake.acquire(timeout=KEEP_SECONDS):
            with _kept.lock:
                if self in _kept.workers:
                    _kept.workers.remove(self)
                    return None
            self.wake.acquire()  # `spawn` took it meanwhile: the job is being handed over
        return self.job


class _Kept:
    """The threads waiting for work, newest last (the next job goes to the newest)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.workers: list[_Worker] = []


_kept = _Kept()


def _forget_kept() -> None:
    # A forked child has none of its parent's threads (and the lock may have been held).
    global _kept
    _kept = _Kept()


os.register_at_fork(after_in_child=_forget_kept)


def spawn(func: Callable[[], object], name: str) -> Job:
    """Run `func` on a daemon thread named `name`, one kept from earlier work if one waits.

    An exception `func` raises ends its thread, reported as a `threading.Thread` reports it.
    """
    job = Job(func, name)
    kept = _kept
    with kept.lock:
        worker = kept.workers.pop() if kept.workers else None
    if worker is None:
        threading.Thread(target=_Worker(job).run, name=name, daemon=True).start()
    else:
        worker.job = job
        worker.wake.release()
    return job


__all__ = [
    "BUDGET",
    "KEEP_SECONDS",
    "MAX_KEPT",
    "MAX_OFF_LOOP_THREADS",
    "MAX_THREADS",
    "Job",
    "ThreadBudget",
    "run_off_loop",
    "spawn",
]
