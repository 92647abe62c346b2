"""The process's budget of worker threads for sync user code called from the async face.

Owns `run_off_loop`: a sync step body (or wait-for-condition check, or callback
submitter) of an `async def` handler runs on one of at most `MAX_OFF_LOOP_THREADS`
threads shared by every invocation of the process, with the caller's context variables,
so it may block without blocking the event loop. Imports only the standard library.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_OFF_LOOP_THREADS = 64
"""Sync bodies of the async face running at once in the process; more wait for a slot."""

_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=MAX_OFF_LOOP_THREADS, thread_name_prefix="perdure-sync-body"
                )
    return _pool


def run_off_loop(func: Callable[[], T]) -> concurrent.futures.Future[T]:
    """Call `func` on a worker thread (with a copy of the caller's context variables)."""
    context = contextvars.copy_context()
    future: concurrent.futures.Future[Any] = _executor().submit(context.run, func)
    return future


__all__ = ["MAX_OFF_LOOP_THREADS", "run_off_loop"]
