"""The workers sharing one PostgreSQL store: membership, lease renewal and notifications.

Several engines (`perdure serve` processes, on one machine or many) on one database form one
service. Each is a worker: a row of the `workers` table (the functions it registered,
whether it runs on virtual time, until when its heartbeat holds); the functions any worker
registered stay in `functions` after it goes. Each open invocation holds
a lease (`leases`: the invocation, its owner, a fencing token incremented at every claim,
an expiry), claimed in the transaction that opens the invocation (`claim_lease`) and checked
in every transaction that writes for it (`holds_lease`). Every time is the database's
(`clock_timestamp()`), never a worker's.

`Workers` owns one connection of its own and one thread: it listens on the store's
notification channel (`pg_notify` on the commit of whatever makes an execution runnable or
ends it) and wakes the engine at once; every `lease_ttl / 3` it renews this worker's row and
the leases of its open invocations, measures the database's clock against this machine's,
and, when an open invocation has no live lease, lets the engine recover it. A lease that has expired is
never renewed: its invocation can no longer commit, whoever recovers it first.

Imports `perdure.engine.errors`, the store's `records`, psycopg and the standard library.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg

from perdure.engine.errors import StoreError

from .records import WorkerInfo

_LISTEN_SLICE_SECONDS = 0.5
"""The longest the listening thread waits before it looks at whether it must stop."""
_RETRY_SECONDS = 1.0
"""After the membership connection failed, how long before it is opened again."""
_FORGET_WORKERS_AFTER = "1 day"
"""A worker row expired this long ago is deleted (by the next worker that joins)."""

logger = logging.getLogger("perdure.engine")

_JOIN_LOCK = "SELECT pg_advisory_xact_lock(1347568725, hashtext(%s))"
_LIVE_WORKERS = (
    "SELECT worker_id, functions, skip_time, expires_at FROM workers"
    " WHERE expires_at > clock_timestamp() ORDER BY worker_id"
)
_UPSERT_WORKER = (
    "INSERT INTO workers (worker_id, functions, skip_time, started_at, expires_at)"
    " VALUES (%s, %s, %s, clock_timestamp(), clock_timestamp() + %s * interval '1 second')"
    " ON CONFLICT (worker_id) DO UPDATE SET functions = excluded.functions,"
    " skip_time = excluded.skip_time, expires_at = excluded.expires_at"
)
_REGISTER_FUNCTIONS = (
    "INSERT INTO functions (name, registered_at) SELECT unnest(%s::text[]), clock_timestamp()"
    " ON CONFLICT (name) DO NOTHING"
)
"""Record, for good, that these functions were registered (`known_functions`)."""
_KNOWN_FUNCTIONS = "SELECT name FROM functions ORDER BY name"
_FORGET_WORKERS = (
    f"DELETE FROM workers WHERE expires_at < clock_timestamp() - interval '{_FORGET_WORKERS_AFTER}'"
)
_BEAT = (
    "UPDATE workers SET expires_at = clock_timestamp() + %s * interval '1 second', functions = %s"
    " WHERE worker_id = %s RETURNING clock_timestamp()"
)
_RENEW_LEASES = (
    "UPDATE leases l SET expires_at = clock_timestamp() + %s * interval '1 second'"
    " FROM executions e WHERE l.owner = %s AND l.expires_at > clock_timestamp()"
    " AND e.key = l.execution_key AND e.request_id = l.request_id"
)
_ANY_EXPIRED = (
    "SELECT EXISTS (SELECT 1 FROM executions e WHERE e.request_id IS NOT NULL AND NOT EXISTS"
    " (SELECT 1 FROM leases l WHERE l.execution_key = e.key AND l.request_id = e.request_id"
    " AND l.expires_at > clock_timestamp()))"
)
"""Whether an open invocation has no live lease (someone must recover it)."""
_EXPIRE_OWN = "UPDATE leases SET expires_at = '-infinity' WHERE owner = %s AND expires_at > clock_timestamp()"
_EXPIRE_ID = (
    "UPDATE leases SET expires_at = '-infinity' WHERE (owner = %s OR left(owner, length(%s) + 1) = %s || '#')"
    " AND expires_at > clock_timestamp()"
)
"""End the leases of every process that had this worker id (an owner is `id#incarnation`; a
worker of an earlier perdure owned them as the bare id)."""
_LEAVE = "DELETE FROM workers WHERE worker_id = %s"


def new_worker_id() -> str:
    """`host:pid:random`: unique among the workers of a database, and readable in `perdure list`."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _Connector(Protocol):
    def connect(self) -> psycopg.Connection[Any]: ...
    def execute(
        self, sql: str, params: Sequence[Any] = (), doing: str = "query"
    ) -> list[tuple[Any, ...]]: ...


class Workers:
    """This process as one of the workers of a PostgreSQL store (see the module docstring).

    Args:
        store: connects (`connect`) and runs a statement on the store's connection (`execute`).
        url: for error messages (no password).
        schema: the store's schema; its notification channel is `perdure_<schema>`.
        worker_id: this worker's id (owner of its leases).
        lease_ttl: seconds a lease holds without renewal.
    """

    def __init__(self, store: _Connector, url: str, schema: str, worker_id: str, lease_ttl: float) -> None:
        if not lease_ttl > 0:
            raise ValueError("lease_ttl must be > 0")
        if not worker_id or "#" in worker_id:
            raise StoreError(
                f"worker id {worker_id!r}: a worker id is not empty and has no '#' (a lease's owner is"
                " the id, '#' and the process's own incarnation)"
            )
        self._store = store
        self.schema = schema
        self.channel = f"perdure_{schema}"
        self.worker_id = worker_id
        self.owner = f"{worker_id}#{uuid.uuid4().hex[:8]}"
        """The owner of this process's leases: its id and an incarnation of its own, so that a
        process that shares the id (a paused one, restarted under it) neither renews nor ends
        them."""
        self.lease_ttl = float(lease_ttl)
        self._functions: Callable[[], list[str]] = list
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def renew_interval(self) -> float:
        return self.lease_ttl / 3

    def live_workers(self) -> list[WorkerInfo]:
        """The workers whose heartbeat holds now (the database's clock)."""
        rows = self._store.execute(_LIVE_WORKERS, doing="list the workers")
        return [WorkerInfo(r[0], tuple(r[1]), bool(r[2]), r[3]) for r in rows]

    def known_functions(self) -> set[str]:
        """Every function a worker of this database ever registered, live or not."""
        rows = self._store.execute(_KNOWN_FUNCTIONS, doing="list the registered functions")
        return {r[0] for r in rows}

    def clock_offset(self) -> timedelta:
        """The database's clock less this machine's (at the middle of one round trip)."""
        sent = datetime.now(UTC)
        rows = self._store.execute("SELECT clock_timestamp()", doing="read the database's clock")
        received = datetime.now(UTC)
        database_now: datetime = rows[0][0]
        return database_now - (sent + (received - sent) / 2)

    def join(
        self,
        functions: Callable[[], list[str]],
        skip_time: bool,
        on_notify: Callable[[], None],
        on_beat: Callable[[timedelta, bool], None],
    ) -> None:
        """Register this worker and start its thread (listening, renewing; see the module).

        Args:
            functions: the names of the functions it runs (read again at each renewal).
            skip_time: it runs on a virtual clock.
            on_notify: called (on the thread) when another worker committed something runnable.
            on_beat: called after each renewal with the database's clock less this machine's,
                and whether an open invocation has no live lease (the engine recovers it).

        Raises:
            StoreError: virtual time with another live worker (or a live worker on virtual
                time), or the database cannot be reached.
        """
        if self._thread is not None:
            return
        self._functions = functions
        conn = self._store.connect()
        try:
            with conn.transaction():
                conn.execute(_JOIN_LOCK, (f"{self.schema}/workers",))
                live = [WorkerInfo(r[0], tuple(r[1]), bool(r[2]), r[3]) for r in conn.execute(_LIVE_WORKERS)]
                others = [w for w in live if w.worker_id != self.worker_id]
                _check_virtual_time(skip_time, others)
                # Leases this id still holds are a previous process's (one that died and is
                # restarted under the same id): this one runs no invocation yet, and would
                # otherwise renew them for good while nobody runs their invocations.
                stale = conn.execute(_EXPIRE_ID, (self.worker_id,) * 3).rowcount
                conn.execute(_FORGET_WORKERS)
                names = functions()
                conn.execute(_UPSERT_WORKER, (self.worker_id, names, skip_time, self.lease_ttl))
                conn.execute(_REGISTER_FUNCTIONS, (names,))
            conn.execute(f'LISTEN "{self.channel}"')
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(
                f"perdure database (schema {self.schema}): joining the workers failed: {exc}"
            ) from None
        except BaseException:
            conn.close()
            raise
        if len(live) > len(others) or stale:
            logger.warning(
                "perdure worker %s: a worker of this id was live until now (%d invocation lease(s)"
                " ended: they are run again); if another running process has this id, give"
                " each worker its own --worker-id",
                self.worker_id,
                stale,
            )
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(conn, on_notify, on_beat), name="perdure-worker", daemon=True
        )
        self._thread.start()

    def leave(self) -> None:
        """Stop the thread, end this worker's leases at once (another worker recovers their
        invocations without waiting for them to expire) and remove its row.

        The leases end first: from then on no invocation of this worker can commit (the
        thread, waiting for a notification, may take half a second to stop)."""
        try:
            self._store.execute(_EXPIRE_OWN, (self.owner,), doing="release this worker's leases")
        finally:
            self.stop_listening()
        self._store.execute(_LEAVE, (self.worker_id,), doing="leave the workers")

    def stop_listening(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    # ------------------------------------------------------------- the thread
    def _run(
        self,
        conn: psycopg.Connection[Any],
        on_notify: Callable[[], None],
        on_beat: Callable[[timedelta, bool], None],
    ) -> None:
        next_beat = 0.0
        try:
            while not self._stop.is_set():
                try:
                    if conn.closed or conn.broken:
                        conn = self._store.connect()
                        conn.execute(f'LISTEN "{self.channel}"')
                        on_notify()  # notifications may have been missed meanwhile
                    wait = min(_LISTEN_SLICE_SECONDS, max(0.0, next_beat - time.monotonic()))
                    woken = False
                    for _ in conn.notifies(timeout=wait):
                        woken = True
                    if woken:
                        on_notify()
                    if time.monotonic() >= next_beat:
                        offset, expired = self._beat(conn)
                        on_beat(offset, expired)
                        next_beat = time.monotonic() + self.renew_interval
                except psycopg.Error as exc:
                    logger.warning(
                        "perdure worker %s: %s; retrying in %.0f s", self.worker_id, exc, _RETRY_SECONDS
                    )
                    with contextlib.suppress(psycopg.Error):
                        conn.close()
                    self._stop.wait(_RETRY_SECONDS)
                except Exception:
                    logger.exception("perdure worker %s: renewal failed", self.worker_id)
                    self._stop.wait(_RETRY_SECONDS)
        finally:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def _beat(self, conn: psycopg.Connection[Any]) -> tuple[timedelta, bool]:
        """Renew this worker's row and its live leases. Returns the database's clock less this
        machine's, and whether an open invocation has no live lease (to recover)."""
        ttl = self.lease_ttl
        names = self._functions()
        sent = datetime.now(UTC)
        row = conn.execute(_BEAT, (ttl, names, self.worker_id)).fetchone()
        received = datetime.now(UTC)
        if row is None:  # removed (a leave from another engine of this id): register again
            conn.execute(_UPSERT_WORKER, (self.worker_id, names, False, ttl))
            row = conn.execute("SELECT clock_timestamp()").fetchone()
        conn.execute(_REGISTER_FUNCTIONS, (names,))  # a function registered since it joined
        conn.execute(_RENEW_LEASES, (ttl, self.owner))
        expired = conn.execute(_ANY_EXPIRED).fetchone()
        assert row is not None and expired is not None
        database_now: datetime = row[0]
        return database_now - (sent + (received - sent) / 2), bool(expired[0])


def _check_virtual_time(skip_time: bool, others: list[WorkerInfo]) -> None:
    """Virtual time needs a database of its own: refuse it beside any live worker, and any
    worker beside a live one on virtual time."""
    if skip_time and others:
        raise StoreError(
            f"--skip-time is refused: {len(others)} other worker(s) serve this database"
            f" ({', '.join(w.worker_id for w in others)}); virtual time needs a database (or"
            " ?schema=) of its own"
        )
    on_virtual = [w.worker_id for w in others if w.skip_time]
    if on_virtual:
        raise StoreError(
            f"worker {on_virtual[0]} serves this database on virtual time (--skip-time), which"
            " allows no other worker; stop it, or use another database (or ?schema=)"
        )
