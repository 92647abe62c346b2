"""Recovery when a store is opened: finish what a dead process left half done.

An invocation that began but never ended because its engine died (the process was
killed) is recorded as ended with a `Runtime.ExitError`-like error, and its execution is
marked for re-invocation. Invocations of live engines are left alone: each open
invocation names its invoker (`host:pid:engine-id`); one is alive if it is an open engine
of this process, or another process on this host that still exists. Timers need no
re-arming: they are rows in the store, and the scheduler reads the due ones from there.
Recovery runs through the same atomic transitions as normal work.
Imports only `perdure.wire`, `perdure.engine` internals and the standard library.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid

from perdure.engine import lifecycle
from perdure.engine.clock import Clock
from perdure.engine.store import Store

_HOST = socket.gethostname()
_live: set[str] = set()
_live_lock = threading.Lock()


def new_invoker_id(invoker: str | None = None) -> str:
    """A fresh invoker id (or `invoker`) for an engine of this process, registered as alive."""
    invoker = invoker or f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    with _live_lock:
        _live.add(invoker)
    return invoker


def retire_invoker_id(invoker: str) -> None:
    """The engine closed: its open invocations (if any) count as interrupted from now on."""
    with _live_lock:
        _live.discard(invoker)


def is_alive(invoker: str | None) -> bool:
    if invoker is None:
        return False
    host, _, rest = invoker.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != _HOST or not pid_text.isdigit():
        return False  # another machine (or a malformed id): nothing to ask; treat as gone
    pid = int(pid_text)
    if pid == os.getpid():
        with _live_lock:
            return invoker in _live
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def recover(store: Store, clock: Clock) -> list[str]:
    """Close invocations whose engine is gone. Returns the ARNs of the executions recovered."""
    return store.run(lambda tx: lifecycle.recover_interrupted(tx, clock.now(), is_alive))
