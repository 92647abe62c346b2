"""The engine's persistence: the `Store` Protocol, its implementations, and where a store is.

`SqliteStore` (a file, WAL, synchronous=FULL by default) is what users get;
`PostgresStore` (`postgres`, the `postgres` extra) keeps the same contract on a PostgreSQL
database; `MemoryStore` has the same interface for unit tests. `open_store` picks the SQL
store a location names: a `postgresql://` URL or a file path. Every change goes through
`Store.transaction()`, which yields a `StoreTx`: all its writes commit together or not at
all. No driver exception leaves this package: failures become `StoreError`.
Imports only `perdure.wire`, `perdure.engine.errors` and the standard library (psycopg only
in `postgres`, imported when a URL asks for it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

from perdure.engine.errors import StoreError
from perdure.wire.types import ErrorObject, Event, Operation

from .records import (
    NO_DETAILS,
    ExecutionQuery,
    ExecutionRecord,
    OperationSummary,
    Timer,
    TimerKind,
    WorkerInfo,
    start_of,
)

T = TypeVar("T")

DB_ENV_VAR = "PERDURE_DB"
DEFAULT_DB_RELATIVE_PATH = Path(".perdure") / "perdure.db"


URL_SCHEMES = ("postgresql://", "postgres://")
"""A store location starting with one of these is a PostgreSQL database."""


def is_postgres_url(location: object) -> bool:
    """Whether a store location (`--db`, `$PERDURE_DB`) names a PostgreSQL database."""
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def check_location(location: str, what: str = "the store location") -> None:
    """Refuse a URL of any other scheme (`postgresq://...`, `sqlite://...`): taken as a file
    path, it would quietly make a SQLite file of that name.

    Raises:
        StoreError: naming `what` (`--db`, `$PERDURE_DB`) and the scheme.
    """
    match = _URL.match(location)
    if match is not None and not location.startswith(URL_SCHEMES):
        raise StoreError(
            f"{what} {location!r} is a {match.group(1)}:// URL: a PostgreSQL database is a"
            " postgresql:// (or postgres://) URL, anything else a SQLite file path"
        )


def default_db_path(cwd: Path | None = None) -> Path:
    """`$PERDURE_DB` if set, else `.perdure/perdure.db` under `cwd` (default: the working directory)."""
    env = os.environ.get(DB_ENV_VAR)
    if env:
        check_location(env, f"${DB_ENV_VAR}")
        return Path(env)
    return (cwd or Path.cwd()) / DEFAULT_DB_RELATIVE_PATH


def default_db_location(cwd: Path | None = None) -> str | Path:
    """`$PERDURE_DB` if set (a `postgresql://` URL or a file path), else `.perdure/perdure.db`
    under `cwd` (default: the working directory)."""
    env = os.environ.get(DB_ENV_VAR)
    if env and is_postgres_url(env):
        return env
    return default_db_path(cwd)


class StoreTx(Protocol):
    """Reads and writes inside one transaction."""

    # executions
    def get_execution(self, arn: str, *, skip_locked: bool = False) -> ExecutionRecord | None:
        """The execution, to change it: a store that locks each execution against other
        workers' writers (PostgreSQL) locks it until the transaction ends; with `skip_locked`,
        one another transaction holds reads as None (someone else is working on it now)."""
        ...

    def find_execution(self, function_name: str, name: str) -> ExecutionRecord | None: ...
    def insert_execution(self, record: ExecutionRecord) -> None:
        """Insert and set `record.key`."""
        ...

    def update_execution(self, record: ExecutionRecord, *, final: bool = False) -> None:
        """Write `record` back. With `final`, the caller changes `record` no more in this
        transaction: a store that keeps what it writes (SQLite's cache) may keep `record`
        itself instead of a copy."""
        ...

    def list_executions(self, query: ExecutionQuery) -> list[ExecutionRecord]: ...
    def function_names(self) -> list[str]:
        """Every function that has executions, sorted."""
        ...

    def peek_execution(self, arn: str) -> ExecutionRecord | None:
        """`get_execution` for a read that writes nothing back: a store that locks each
        execution against other workers' writers (PostgreSQL) does not lock it here."""
        ...

    def executions_to_invoke(
        self, now: datetime, limit: int, functions: Collection[str] | None = None
    ) -> list[str]:
        """ARNs of RUNNING executions that need an invocation now and have none running
        (only those of `functions`, when given)."""
        ...

    def next_invoke_after(self) -> datetime | None:
        """The earliest delayed invocation (an invocation retry's backoff)."""
        ...

    def executions_with_open_invocation(self) -> list[ExecutionRecord]: ...
    def child_executions(self, parent_arn: str) -> list[ExecutionRecord]:
        """The executions started by `parent_arn`'s chained invokes."""
        ...

    # leases: which worker may run an execution's open invocation (a store many workers
    # share); a store one process uses has none
    def claim_lease(self, execution_key: int, request_id: str) -> None:
        """Give this worker the lease of the execution's invocation `request_id`, just opened
        (its fencing token moves on; it expires one lease TTL from now, on the database's clock)."""
        ...

    def holds_lease(self, execution_key: int, request_id: str) -> bool | None:
        """Whether invocation `request_id` holds a live lease (it names that invocation and
        has not expired on the database's clock); None: the store has no leases (liveness
        is the process's: see `perdure.engine.recovery`)."""
        ...

    # operations (`seq` orders them for paging; it is used on insert only)
    def get_operation(self, execution_key: int, operation_id: str) -> Operation | None: ...
    def get_operations(self, execution_key: int, operation_ids: Collection[str]) -> dict[str, Operation]:
        """The operations among `operation_ids` that exist, by id (one read for a whole request)."""
        ...

    def put_operations(self, execution_key: int, operations: Sequence[tuple[int, Operation]]) -> None:
        """Insert or replace operations, given as (seq, operation); an existing one keeps its
        seq (the seq of a replaced one is ignored)."""
        ...

    def log_change(self, execution_key: int, operation_id: str, change: int) -> None:
        """Record a service-side change of an operation (one entry per operation: its latest)."""
        ...

    def operations_changed(
        self, execution_key: int, after_change: int, upto_change: int, limit: int
    ) -> list[tuple[int, Operation]]:
        """(change number, current operation) of the logged changes numbered in
        `(after_change, upto_change]`, in change order, at most `limit`."""
        ...

    def prune_changes(self, execution_key: int, upto_change: int) -> None:
        """Forget logged changes numbered up to `upto_change` (already reported)."""
        ...

    def list_operations(
        self, execution_key: int, after_seq: int, limit: int
    ) -> list[tuple[int, Operation]]: ...
    def operation_summaries(
        self, execution_key: int, after_seq: int, limit: int
    ) -> list[tuple[int, OperationSummary]]:
        """(seq, summary) of operations after `after_seq`, in seq order: `list_operations`
        without reading payloads (the console's timeline of up to 3,000 operations)."""
        ...

    # history
    def append_events(self, execution_key: int, events: Sequence[Event]) -> None: ...
    def list_events(
        self, execution_key: int, after_event_id: int | None, limit: int, reverse: bool
    ) -> list[Event]: ...

    # timers
    def set_timer(self, execution_key: int, operation_id: str, kind: TimerKind, due: datetime) -> None: ...
    def delete_timer(self, execution_key: int, operation_id: str, kind: TimerKind) -> None: ...
    def delete_timers(self, execution_key: int) -> None: ...
    def take_timer(self, timer: Timer) -> bool:
        """Delete `timer` if it is still set for the same due time; False if it is gone or re-armed."""
        ...

    def due_timers(self, now: datetime, limit: int) -> list[Timer]: ...
    def due_timers_of(self, execution_key: int, arn: str, now: datetime) -> list[Timer]:
        """The execution's timers due at `now`, earliest first."""
        ...

    def next_timer_due(self, *, deadlines: bool = True) -> datetime | None:
        """The earliest timer; with `deadlines=False`, the earliest that is not a deadline."""
        ...

    # checkpoint idempotency (ClientToken)
    def get_checkpoint_request(self, execution_key: int, client_token: str) -> tuple[str, str | None] | None:
        """(request digest, response JSON or None once a later checkpoint replaced it)."""
        ...

    def put_checkpoint_request(
        self, execution_key: int, client_token: str, digest: str, response: str
    ) -> None:
        """Record an applied checkpoint; earlier ones of the execution keep only their digest."""
        ...

    # invocations
    def insert_invocation(self, execution_key: int, request_id: str, start: datetime) -> None: ...
    def complete_invocation(self, request_id: str, end: datetime, error: ErrorObject | None) -> None: ...


class Store(Protocol):
    """A durable (or, for tests, in-memory) home for executions."""

    @property
    def location(self) -> str:
        """A human-readable name for error messages (the file path, or ':memory:')."""
        ...

    def transaction(self) -> AbstractContextManager[StoreTx]:
        """One atomic unit of work: commits on normal exit, rolls back on an exception."""
        ...

    def run(self, body: Callable[[StoreTx], T]) -> T:
        """`body(tx)` as one atomic unit of work; its value. What changes executions goes
        through here: a store several workers share runs `body` again, in a new transaction,
        when the first lost a lock conflict with another worker's (`StoreConflictError`, at
        most a few times), so `body` must change nothing but the store and what it creates."""
        ...

    def external_version(self) -> int | None:
        """A number that changes when another connection (another process) commits to the
        store, cheap to read; None when nothing outside this object can write to it."""
        ...

    def close(self) -> None: ...


class SharedWorkers(Protocol):
    """This process as one of the workers of a store several processes serve together
    (PostgreSQL; see `perdure.engine.store.pg_workers`)."""

    worker_id: str
    lease_ttl: float

    def join(
        self,
        functions: Callable[[], list[str]],
        skip_time: bool,
        on_notify: Callable[[], None],
        on_beat: Callable[[timedelta, bool], None],
    ) -> None:
        """Register, then listen for other workers' news and renew leases on a thread."""
        ...

    def leave(self) -> None:
        """Stop, and end this worker's leases at once (see `pg_workers.Workers.leave`)."""
        ...

    def live_workers(self) -> list[WorkerInfo]: ...
    def known_functions(self) -> set[str]:
        """Every function a worker of the store ever registered, live or not."""
        ...

    def clock_offset(self) -> timedelta:
        """The database's clock less this machine's, measured now."""
        ...


def workers_of(store: Store) -> SharedWorkers | None:
    """The worker membership of a store many workers share; None for a store one process serves."""
    workers: SharedWorkers | None = getattr(store, "workers", None)
    return workers


from .memory import MemoryStore  # noqa: E402
from .sqlite import Durability, SqliteStore  # noqa: E402


def open_store(
    location: str | Path,
    *,
    durability: Durability | str = Durability.FULL,
    group_commit: bool = True,
    worker_id: str | None = None,
    lease_ttl: float | None = None,
) -> Store:
    """The SQL store at `location`: a `postgresql://` URL (PostgreSQL, the `postgres` extra)
    or a SQLite file path (created with its directory if missing). `worker_id` and `lease_ttl`
    (seconds) name this process among the workers of a PostgreSQL store (default: a fresh id,
    `records.DEFAULT_LEASE_TTL_SECONDS`); a SQLite file has one process and no leases.

    Raises:
        StoreError: psycopg is not installed for a URL; the database cannot be opened.
        StoreCorruptedError: the file or schema is not a perdure store.
    """
    if isinstance(location, str):
        check_location(location)
    if is_postgres_url(location):
        try:
            from .postgres import PostgresStore
        except ImportError as exc:
            raise StoreError(
                f"a PostgreSQL store needs psycopg 3 ({exc}): pip install 'perdure[postgres]'"
            ) from None
        options: dict[str, Any] = {} if lease_ttl is None else {"lease_ttl": lease_ttl}
        return PostgresStore(
            str(location), durability=durability, group_commit=group_commit, worker_id=worker_id, **options
        )
    return SqliteStore(location, durability=durability, group_commit=group_commit)


__all__ = [
    "DB_ENV_VAR",
    "DEFAULT_DB_RELATIVE_PATH",
    "NO_DETAILS",
    "Durability",
    "ExecutionQuery",
    "ExecutionRecord",
    "MemoryStore",
    "OperationSummary",
    "SharedWorkers",
    "SqliteStore",
    "Store",
    "StoreTx",
    "Timer",
    "TimerKind",
    "WorkerInfo",
    "check_location",
    "default_db_location",
    "default_db_path",
    "is_postgres_url",
    "open_store",
    "start_of",
    "workers_of",
]
