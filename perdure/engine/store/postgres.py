"""`PostgresStore`: the store on a PostgreSQL database, through psycopg 3 (the `postgres` extra).

Its SQL is here and, where the dialects agree, in `sql` (its schema is in `pg_schema`); the rows it writes and reads are the
SQLite store's (`rows`). Its tables live in their own schema (namespace), `perdure` by
default, created and migrated on open under an advisory lock.

Guarantees, as with SQLite, with writers of different executions running at once: a
transaction that changes an execution locks its row first (`get_execution` reads it `FOR
UPDATE`; a read that changes nothing uses `peek_execution`, which does not lock), so the
writers of one execution, in this process or any other, run one at a time while those of
others do not wait.

The lock order, which keeps the workers' transactions from deadlocking:
1. Executions are locked in the order of their keys, so a caller before the executions its
   chained invokes start (created later, their keys are greater). Locking an execution
   locks its caller with it, in one statement sorted by key (`_LOCK_EXECUTION`): the
   transaction that ends an invoked execution completes the caller's operation (an
   execution's end and a stop of its caller, which stops it, take the caller first).
2. An execution's row before anything of it (its lease, timers, operations, events): no
   transaction locks those first.
3. Only the first member of a group commit waits for a lock. A member that joins an open
   group (which already holds its earlier members' locks, in arrival order) refuses to wait
   (`NOWAIT`, `pg_try_advisory_xact_lock`): it fails at once with `StoreConflictError`, and
   `GroupCommit.run` commits the group and runs it again at the head of a new transaction.
So a transaction that waits holds only locks earlier in the order than the one it waits
for, and no cycle can form. What the order does not cover (an execution started by name
before a caller adopts it as its chained invoke, so its key is smaller) is defended by the
retry: a deadlock or serialization failure is a `StoreConflictError` too, and the whole
transaction runs again (`GroupCommit.run`, at most `group.MAX_ATTEMPTS` times).

The history of an execution never goes back in time, whichever worker's clock stamped its
events: an event is stored with at least the time of the one before it (`_INSERT_EVENT`).

`synchronous_commit` is `on` (Durability.FULL: an acknowledged commit is
on the server's disk) or `off` (Durability.NORMAL: a server crash may lose the last commits);
group commit as on SQLite (`GroupCommit`). One connection per store, shared by threads under
the group-commit lock; a broken connection is reopened by the next transaction. Every psycopg
error becomes a `StoreError` naming the database (never its password).

Many workers (`perdure serve` processes) share one database as one service: each
transaction keeps the lease of an open invocation (`claim_lease`, `holds_lease`) and sends a
notification (`pg_notify`) on the commit of whatever makes an execution runnable or ends it;
`workers` (`pg_workers.Workers`) is this process among the workers.

This module and `pg_workers` are the only engine modules that import a third-party package
(psycopg); nothing else imports them at module level, so the engine runs without the extra. Imports `perdure.wire`,
`perdure.engine.errors`, the store's shared modules, psycopg and the standard library.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from perdure.engine.errors import StoreConflictError, StoreCorruptedError, StoreError
from perdure.wire.types import Event, Operation

from .group import GroupCommit
from .pg_schema import MIGRATIONS, SCHEMA_VERSION
from .pg_workers import Workers, new_worker_id
from .records import DEFAULT_LEASE_TTL_SECONDS, ExecutionRecord, details_to_json, to_us
from .rows import (
    EVENT_COLUMNS,
    EXEC_COLUMNS,
    EXEC_SET_COLUMNS,
    OP_COLUMNS,
    exec_from_row,
    exec_values,
    op_from_row,
    op_values,
)
from .sql import EVENT_SELECT, Dialect, SqlTx
from .sqlite import Durability

DEFAULT_SCHEMA = "perdure"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_LOCK_CLASS = 0x50524455  # "PRDU": the advisory-lock class of perdure's stores

_INSERT_EXECUTION = (
    f"INSERT INTO executions ({', '.join(EXEC_SET_COLUMNS)})"
    f" VALUES ({', '.join(['%s'] * len(EXEC_SET_COLUMNS))}) RETURNING key"
)
_OP_SELECT = ", ".join(f"o.{c}" for c in OP_COLUMNS.split(", "))
_SELECT_OPERATIONS = (
    f"SELECT {_OP_SELECT} FROM operations o WHERE o.execution_key = %s AND o.operation_id = ANY(%s)"
)
_UPSERT_OPERATION = (
    f"INSERT INTO operations (execution_key, {OP_COLUMNS}) VALUES (%s, %s, {', '.join(['%s'] * 16)})"
    " ON CONFLICT (execution_key, operation_id) DO UPDATE SET status = excluded.status,"
    " end_us = excluded.end_us, attempt = excluded.attempt,"
    " next_attempt_us = excluded.next_attempt_us, scheduled_end_us = excluded.scheduled_end_us,"
    " result = excluded.result, error = excluded.error,"
    " replay_children = excluded.replay_children, callback_id = excluded.callback_id"
)
_INSERT_EVENT = (
    f"INSERT INTO events (execution_key, {EVENT_COLUMNS}) VALUES (%s, %s, %s, GREATEST(%s,"
    " (SELECT p.timestamp_us FROM events p WHERE p.execution_key = %s AND p.event_id = %s - 1)),"
    " %s, %s, %s, %s, %s)"
)
"""An event, stamped no earlier than the execution's previous event (another worker, whose
clock may be a little ahead, may have stamped it); event ids follow one another."""
_LIVE_LEASE = (
    "(SELECT l.request_id FROM leases l WHERE l.execution_key = executions.key"
    " AND l.expires_at > clock_timestamp())"
)
"""The invocation whose lease on the execution is live now (the database's clock), if any."""
_LOCK_EXECUTION = (
    f"SELECT {EXEC_COLUMNS}, {_LIVE_LEASE} FROM executions WHERE arn = %s"
    " OR arn = (SELECT c.parent_arn FROM executions c WHERE c.arn = %s) ORDER BY key FOR UPDATE"
)
"""The execution and its caller (the execution whose chained invoke started it), locked in
the order of their keys (see the lock order in the module docstring)."""
_LOCK_AGAIN = f"SELECT {EXEC_COLUMNS}, {_LIVE_LEASE} FROM executions WHERE arn = %s FOR UPDATE"
"""An execution this transaction has locked already (with its caller)."""
_LOCKS = {
    (again, wait): sql + {"wait": "", "nowait": " NOWAIT", "skip": " SKIP LOCKED"}[wait]
    for again, sql in ((False, _LOCK_EXECUTION), (True, _LOCK_AGAIN))
    for wait in ("wait", "nowait", "skip")
}
_CONFLICTS = (
    psycopg.errors.DeadlockDetected,
    psycopg.errors.SerializationFailure,
    psycopg.errors.LockNotAvailable,
)
"""What a transaction that lost a lock conflict raises: rolled back, it may run again."""
_OPEN_INVOCATIONS = (
    f"SELECT {EXEC_COLUMNS}, {_LIVE_LEASE} FROM executions WHERE request_id IS NOT NULL ORDER BY key"
)
_SELECT_LEASE = "SELECT request_id FROM leases WHERE execution_key = %s AND expires_at > clock_timestamp()"
_CLAIM_LEASE = (
    "INSERT INTO leases (execution_key, request_id, owner, token, expires_at)"
    " VALUES (%s, %s, %s, 1, clock_timestamp() + %s * interval '1 second')"
    " ON CONFLICT (execution_key) DO UPDATE SET request_id = excluded.request_id,"
    " owner = excluded.owner, token = leases.token + 1, expires_at = excluded.expires_at"
)
_LOCK_NAME = f"SELECT pg_advisory_xact_lock({_LOCK_CLASS}, hashtext(%s))"
_TRY_LOCK_NAME = f"SELECT pg_try_advisory_xact_lock({_LOCK_CLASS}, hashtext(%s))"
_NOTIFY = "SELECT pg_notify(%s, %s)"
_NEEDS, _REQUEST, _STATUS = (EXEC_SET_COLUMNS.index(c) for c in ("needs_invocation", "request_id", "status"))


def _runnable(values: Sequence[Any]) -> bool:
    return bool(values[_NEEDS]) and values[_REQUEST] is None and values[_STATUS] == "RUNNING"


def _ended(values: Sequence[Any]) -> bool:
    return bool(values[_STATUS] != "RUNNING")


_DIALECT = Dialect(
    "%s",
    true="TRUE",
    contains="strpos(name, ?) > 0",
    op_select=_OP_SELECT,
    select_events=f"SELECT {EVENT_SELECT}, NULL FROM events e WHERE e.execution_key = ? AND ",
)


def split_schema(url: str) -> tuple[str, str | None]:
    """`url` without its `schema=` query parameter (perdure's, not libpq's), and that schema."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    if not schemas:
        return url, None
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), schemas[-1]


def shown_url(url: str) -> str:
    """`url` as error messages show it: the password left out."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        return "postgresql://(unparsable URL)"
    host = params.get("host", "")
    port = params.get("port", "")
    user = params.get("user", "")
    who = f"{user}@" if user else ""
    where = f"{host}:{port}" if port else str(host)
    return f"postgresql://{who}{where}/{params.get('dbname', '')}"


class _PostgresTx(SqlTx):
    """`StoreTx` over one connection inside an open transaction."""

    _q = _DIALECT

    def __init__(self, conn: psycopg.Connection[Any], workers: Workers, *, joined: bool = False) -> None:
        self._c = conn
        self._stored = {}
        self._workers = workers
        self._joined = joined
        """A member that joined an open group: it never waits for a lock (see the lock order)."""
        self._locked: set[str] = set()
        """The executions this member locked (by ARN), callers included."""
        self._leases: dict[int, str | None] = {}
        """The invocation holding a live lease, by execution key, as this transaction read it."""
        self._notified: set[str] = set()

    def _statuses(self, statuses: Sequence[Any]) -> tuple[str, list[Any]]:
        return "status = ANY(%s)", [[s.value for s in statuses]]

    def _functions(self, names: Collection[str]) -> tuple[str, list[Any]]:
        return " AND function_name = ANY(%s)", [list(names)]

    # ------------------------------------------------------------ executions
    def get_execution(self, arn: str, *, skip_locked: bool = False) -> ExecutionRecord | None:
        """The execution, its row locked until the transaction ends (a writer of the same
        execution elsewhere waits, and then reads what this one committed); with
        `skip_locked`, None if another transaction holds it."""
        again = arn in self._locked
        wait = "skip" if skip_locked else "nowait" if self._joined else "wait"
        rows = self._c.execute(_LOCKS[again, wait], (arn,) if again else (arn, arn)).fetchall()
        found = None
        for row in rows:
            self._stored[row[0]] = row[1:-1]
            self._leases[row[0]] = row[-1]
            self._locked.add(row[1])
            if row[1] == arn:
                found = exec_from_row(row)
        if skip_locked and found is not None and found.parent_arn not in (None, *self._locked):
            return None  # its caller is held elsewhere (the execution stays locked till the end)
        return found

    def peek_execution(self, arn: str) -> ExecutionRecord | None:
        return super().get_execution(arn)  # no lock

    def find_execution(self, function_name: str, name: str) -> ExecutionRecord | None:
        # Two workers starting the same name at once: the second waits for the first's
        # commit and then finds its execution (instead of failing on the unique index).
        key = f"{self._workers.schema}/{function_name}/{name}"
        if not self._joined:
            self._c.execute(_LOCK_NAME, (key,))
        elif not self._c.execute(_TRY_LOCK_NAME, (key,)).fetchone()[0]:
            raise StoreConflictError(
                f"the name {name!r} of function {function_name!r} is being started by another transaction"
            )
        return super().find_execution(function_name, name)

    def insert_execution(self, record: ExecutionRecord) -> None:
        values = exec_values(record)
        record.key = self._c.execute(_INSERT_EXECUTION, values).fetchone()[0]
        self._stored[record.key] = values
        if _runnable(values):
            self._notify(record.function_name)

    def update_execution(self, record: ExecutionRecord, *, final: bool = False) -> None:
        before = self._stored.get(record.key)
        super().update_execution(record)
        after = self._stored[record.key]
        if (_runnable(after) and (before is None or not _runnable(before))) or (
            _ended(after) and (before is None or not _ended(before))
        ):
            self._notify(record.function_name)

    def _notify(self, function_name: str) -> None:
        """Tell the other workers, when this transaction commits, that an execution of
        `function_name` became runnable or ended (once per function and transaction)."""
        if function_name not in self._notified:
            self._notified.add(function_name)
            self._c.execute(_NOTIFY, (self._workers.channel, function_name))

    def executions_with_open_invocation(self) -> list[ExecutionRecord]:
        rows = self._c.execute(_OPEN_INVOCATIONS).fetchall()
        for row in rows:
            self._leases[row[0]] = row[-1]
        return [exec_from_row(row) for row in rows]

    # ---------------------------------------------------------------- leases
    def claim_lease(self, execution_key: int, request_id: str) -> None:
        w = self._workers
        self._c.execute(_CLAIM_LEASE, (execution_key, request_id, w.owner, w.lease_ttl))
        self._leases[execution_key] = request_id

    def holds_lease(self, execution_key: int, request_id: str) -> bool | None:
        if execution_key not in self._leases:
            row = self._c.execute(_SELECT_LEASE, (execution_key,)).fetchone()
            self._leases[execution_key] = None if row is None else row[0]
        return self._leases[execution_key] == request_id

    def get_operation(self, execution_key: int, operation_id: str) -> Operation | None:
        return self.get_operations(execution_key, (operation_id,)).get(operation_id)

    def get_operations(self, execution_key: int, operation_ids: Collection[str]) -> dict[str, Operation]:
        if not operation_ids:
            return {}
        rows = self._c.execute(_SELECT_OPERATIONS, (execution_key, list(operation_ids))).fetchall()
        return {row[1]: op_from_row(row) for row in rows}

    def put_operations(self, execution_key: int, operations: Sequence[tuple[int, Operation]]) -> None:
        rows = [(execution_key, seq, *op_values(op)) for seq, op in operations]
        if rows:
            with self._c.cursor() as cur:
                cur.executemany(_UPSERT_OPERATION, rows)

    def append_events(self, execution_key: int, events: Sequence[Event]) -> None:
        rows = [
            (
                execution_key,
                e.event_id,
                e.event_type._value_,
                to_us(e.event_timestamp),
                execution_key,
                e.event_id,
                e.id,
                e.name,
                e.sub_type,
                e.parent_id,
                details_to_json(e.details),
            )
            for e in events
        ]
        if rows:
            with self._c.cursor() as cur:
                cur.executemany(_INSERT_EVENT, rows)


class PostgresStore(GroupCommit[_PostgresTx]):
    """The store on a PostgreSQL database (its schema created or migrated on open).

    Args:
        url: a `postgresql://` URL (libpq's URI form); a `schema=NAME` query parameter
            chooses the schema (it wins over `schema`).
        schema: the schema (namespace) holding the store's tables; lower-case letters,
            digits and `_`. Several stores may share a database under different schemas.
        durability: `Durability.FULL` (default: synchronous_commit on) or `NORMAL` (off).
        group_commit: see `GroupCommit`.

    Raises:
        StoreCorruptedError: the schema exists and is not a perdure store.
        StoreError: the server cannot be reached, or the schema is newer than this perdure.
    """

    _errors = (psycopg.Error,)

    def __init__(
        self,
        url: str,
        *,
        schema: str = DEFAULT_SCHEMA,
        durability: Durability | str = Durability.FULL,
        group_commit: bool = True,
        worker_id: str | None = None,
        lease_ttl: float = DEFAULT_LEASE_TTL_SECONDS,
    ) -> None:
        super().__init__(group_commit)
        url, named = split_schema(url)
        schema = named if named is not None else schema
        if _SCHEMA_NAME.fullmatch(schema) is None:
            raise StoreError(
                f"PostgreSQL schema name {schema!r} is not allowed: use lower-case letters, digits"
                " and _, starting with a letter or _ (at most 63 characters)"
            )
        self._url = url
        self._shown = shown_url(url)
        self._schema = schema
        self._durability = Durability(durability)
        key = zlib.crc32(schema.encode()) - 2**31  # an int4
        self._lock_sql = f"BEGIN; SELECT pg_advisory_xact_lock({_LOCK_CLASS}, {key})"
        """Migrations run under a lock for the whole schema; other transactions lock the
        executions they change (`_PostgresTx.get_execution`)."""
        self._begin_sql = "BEGIN; SELECT nextval('transactions')"
        self._own = 0
        """Numbers this store took from the `transactions` sequence."""
        self.workers = Workers(self, url, schema, worker_id or new_worker_id(), lease_ttl)
        """This process as one of the workers sharing the database (`pg_workers.Workers`)."""
        self._conn = self._connect()
        try:
            self._migrate()
        except psycopg.Error as exc:
            self._conn.close()
            raise self._translate(exc, "open") from None
        except BaseException:
            self._conn.close()
            raise

    @property
    def location(self) -> str:
        return f"{self._shown} (schema {self._schema})"

    @property
    def schema(self) -> str:
        return self._schema

    @property
    def durability(self) -> Durability:
        return self._durability

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conninfo = make_conninfo(self._url, application_name="perdure")
            conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to the perdure database {self._shown}: {exc}") from None
        try:
            commit = "on" if self._durability is Durability.FULL else "off"
            conn.execute(f"SET synchronous_commit TO {commit}")
            conn.execute(f'SET search_path TO "{self._schema}"')
            conn.execute("SET TIME ZONE 'UTC'")
        except psycopg.Error as exc:
            conn.close()
            raise self._translate(exc, "configure the connection") from None
        return conn

    def _migrate(self) -> None:
        c = self._conn
        c.execute(self._lock_sql)
        try:
            exists = c.execute(
                "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (self._schema,)
            ).fetchone()
            if not exists or not exists[0]:
                c.execute(f'CREATE SCHEMA "{self._schema}"')
            versioned = c.execute("SELECT to_regclass(%s)", (f'"{self._schema}".schema_version',)).fetchone()
            if versioned is None or versioned[0] is None:
                tables = c.execute(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = %s", (self._schema,)
                ).fetchone()
                if tables and tables[0]:
                    raise StoreCorruptedError(
                        f"schema {self._schema} of {self._shown} has tables but is not a perdure store"
                        " (no schema_version); choose another schema or database"
                    )
                version = 0
            else:
                row = c.execute("SELECT version FROM schema_version").fetchone()
                version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"schema {self._schema} of {self._shown} has version {version}, newer than this"
                    f" perdure ({SCHEMA_VERSION}); upgrade perdure"
                )
            for index in range(version, SCHEMA_VERSION):
                c.execute(MIGRATIONS[index])
                c.execute("UPDATE schema_version SET version = %s", (index + 1,))
            c.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def schema_version(self) -> int:
        with self._lock:
            row = self._conn.execute("SELECT version FROM schema_version").fetchone()
            return int(row[0]) if row else 0

    def _translate(self, exc: Exception, doing: str) -> StoreError:
        kind = StoreConflictError if isinstance(exc, _CONFLICTS) else StoreError
        return kind(f"perdure database {self.location}: {doing} failed: {exc}")

    @contextmanager
    def transaction(self) -> Iterator[_PostgresTx]:
        """One atomic unit of work, durable when this returns (see `GroupCommit`)."""
        yield from self._transactions()

    def _begin(self) -> _PostgresTx:
        """Begin; a connection found broken here (the server restarted, an idle connection
        was cut) is reopened and the begin tried once more: nothing was done on it yet."""
        for attempt in (1, 2):
            if self._conn.closed or self._conn.broken:
                self._conn = self._connect()
            try:
                self._conn.execute(self._begin_sql)
            except psycopg.Error as exc:
                if attempt == 1 and self._conn.broken:
                    continue
                self._rollback()
                raise self._translate(exc, "begin") from None
            self._own += 1
            return _PostgresTx(self._conn, self.workers)
        raise AssertionError("unreachable")

    def _member(self) -> _PostgresTx:
        return _PostgresTx(self._conn, self.workers, joined=True)

    def _run(self, sql: str) -> None:
        self._conn.execute(sql)

    def external_version(self) -> int:
        """How many transactions other connections have begun on this store: every transaction
        takes a number from the `transactions` sequence, so the last number given out, less
        the numbers this store took, moves only when another connection ran one (a sequence
        is not transactional: one read of one row, no table touched)."""
        with self._lock:
            try:
                row = self._conn.execute("SELECT last_value, is_called FROM transactions").fetchone()
            except psycopg.Error as exc:
                raise self._translate(exc, "read the transaction counter") from None
            given = int(row[0]) if row and row[1] else 0
            return given - self._own

    def execute(self, sql: str, params: Sequence[Any] = (), doing: str = "query") -> list[tuple[Any, ...]]:
        """Run one statement outside any transaction (autocommit, under the store's lock); its rows.

        Raises:
            StoreError: it failed (the message says what was being done).
        """
        with self._lock:
            if self._conn.closed or self._conn.broken:
                self._conn = self._connect()
            try:
                cur = self._conn.execute(sql, params)
                return cur.fetchall() if cur.description is not None else []
            except psycopg.Error as exc:
                raise self._translate(exc, doing) from None

    def connect(self) -> psycopg.Connection[Any]:
        """A new connection to the store's schema (the workers' listener has its own)."""
        return self._connect()

    def close(self) -> None:
        self.workers.stop_listening()
        with self._lock:
            self._finish_open_group()
            self._conn.close()
