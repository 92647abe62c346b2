"""`PostgresStore`: the store on a PostgreSQL database, through psycopg 3 (the `postgres` extra).

All of its SQL is here (its schema is in `pg_schema`); the rows it writes and reads are the
SQLite store's (`rows`). Its tables live in their own schema (namespace), `perdure` by
default, created and migrated on open under an advisory lock.

Guarantees, as with SQLite: every transaction holds a transaction-level advisory lock
for the store's schema, so writers (in this process or any other) run one at a time, as
SQLite's `BEGIN IMMEDIATE` makes them; `synchronous_commit` is `on` (Durability.FULL: an
acknowledged commit is on the server's disk) or `off` (Durability.NORMAL: a server crash may
lose the last commits); group commit as on SQLite (`GroupCommit`). One connection per store,
shared by threads under the group-commit lock; a broken connection is reopened by the next
transaction. Every psycopg error becomes a `StoreError` naming the database (never its
password).

This is the only engine module that imports a third-party package (psycopg); nothing imports
it at module level, so the engine runs without the extra. Imports `perdure.wire`,
`perdure.engine.errors`, psycopg and the standard library.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from perdure.engine.errors import StoreCorruptedError, StoreError
from perdure.wire.types import ErrorObject, Event, Operation

from .group import GroupCommit
from .pg_schema import MIGRATIONS, SCHEMA_VERSION
from .records import (
    ExecutionQuery,
    ExecutionRecord,
    OperationSummary,
    Timer,
    TimerKind,
    details_to_json,
    error_to_json,
    from_us,
    opt_from_us,
    to_us,
)
from .rows import (
    EVENT_COLUMNS,
    EXEC_COLUMNS,
    EXEC_SET_COLUMNS,
    OP_COLUMNS,
    SUMMARY_COLUMNS,
    event_from_row,
    exec_from_row,
    exec_values,
    op_from_row,
    op_values,
    summary_from_row,
)
from .sqlite import Durability

DEFAULT_SCHEMA = "perdure"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_LOCK_CLASS = 0x50524455  # "PRDU": the advisory-lock class of perdure's stores

_SELECT_EXECUTION = f"SELECT {EXEC_COLUMNS} FROM executions WHERE arn = %s"
_INSERT_EXECUTION = (
    f"INSERT INTO executions ({', '.join(EXEC_SET_COLUMNS)})"
    f" VALUES ({', '.join(['%s'] * len(EXEC_SET_COLUMNS))}) RETURNING key"
)
_ALL_EXECUTION_COLUMNS = tuple(range(len(EXEC_SET_COLUMNS)))
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
_SELECT_CHANGED = (
    f"SELECT c.change_seq, {_OP_SELECT}"
    " FROM operation_changes c JOIN operations o"
    " ON o.execution_key = c.execution_key AND o.operation_id = c.operation_id"
    " WHERE c.execution_key = %s AND c.change_seq > %s AND c.change_seq <= %s"
    " ORDER BY c.change_seq LIMIT %s"
)
_INSERT_EVENT = f"INSERT INTO events (execution_key, {EVENT_COLUMNS}) VALUES ({', '.join(['%s'] * 9)})"
_SELECT_EVENTS = f"SELECT {EVENT_COLUMNS}, NULL FROM events WHERE execution_key = %s AND "


@functools.lru_cache(maxsize=64)
def _update_execution(columns: tuple[int, ...]) -> str:
    """The UPDATE of the execution columns at these positions of `EXEC_SET_COLUMNS`."""
    return f"UPDATE executions SET {', '.join(f'{EXEC_SET_COLUMNS[i]} = %s' for i in columns)} WHERE key = %s"


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


class _PostgresTx:
    """`StoreTx` over one connection inside an open transaction."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._c = conn
        self._stored: dict[int, Sequence[Any]] = {}
        """Execution columns as this transaction last read or wrote them, by key: an update
        writes only the columns that changed."""

    def _one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self._c.execute(sql, args).fetchone()

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return self._c.execute(sql, args).fetchall()

    # ---------------------------------------------------------------- executions
    def get_execution(self, arn: str) -> ExecutionRecord | None:
        row = self._one(_SELECT_EXECUTION, (arn,))
        if row is None:
            return None
        self._stored[row[0]] = row[1:]
        return exec_from_row(row)

    def find_execution(self, function_name: str, name: str) -> ExecutionRecord | None:
        row = self._one(
            f"SELECT {EXEC_COLUMNS} FROM executions WHERE function_name = %s AND name = %s",
            (function_name, name),
        )
        return None if row is None else exec_from_row(row)

    def insert_execution(self, record: ExecutionRecord) -> None:
        values = exec_values(record)
        record.key = self._one(_INSERT_EXECUTION, values)[0]
        self._stored[record.key] = values

    def update_execution(self, record: ExecutionRecord) -> None:
        values = exec_values(record)
        stored = self._stored.get(record.key)
        if stored is None:
            columns = _ALL_EXECUTION_COLUMNS
        else:
            columns = tuple(i for i, (new, old) in enumerate(zip(values, stored, strict=True)) if new != old)
            if not columns:
                return
        self._c.execute(_update_execution(columns), (*(values[i] for i in columns), record.key))
        self._stored[record.key] = values

    def list_executions(self, query: ExecutionQuery) -> list[ExecutionRecord]:
        where = ["TRUE"]
        args: list[Any] = []
        if query.function_name is not None:
            where.append("function_name = %s")
            args.append(query.function_name)
        if query.name is not None:
            where.append("name = %s")
            args.append(query.name)
        if query.name_contains:
            where.append("strpos(name, %s) > 0")
            args.append(query.name_contains)
        if query.statuses:
            where.append("status = ANY(%s)")
            args.append([s.value for s in query.statuses])
        if query.started_after is not None:
            where.append("start_us >= %s")
            args.append(to_us(query.started_after))
        if query.started_before is not None:
            where.append("start_us <= %s")
            args.append(to_us(query.started_before))
        if query.after_key is not None:
            where.append("key < %s" if query.reverse else "key > %s")
            args.append(query.after_key)
        order = "DESC" if query.reverse else "ASC"
        sql = (
            f"SELECT {EXEC_COLUMNS} FROM executions WHERE {' AND '.join(where)} ORDER BY key {order} LIMIT %s"
        )
        return [exec_from_row(r) for r in self._all(sql, (*args, query.limit))]

    def executions_to_invoke(self, now: datetime, limit: int) -> list[str]:
        rows = self._all(
            "SELECT arn FROM executions WHERE needs_invocation = 1 AND status = 'RUNNING'"
            " AND request_id IS NULL AND (invoke_after_us IS NULL OR invoke_after_us <= %s)"
            " ORDER BY key LIMIT %s",
            (to_us(now), limit),
        )
        return [r[0] for r in rows]

    def next_invoke_after(self) -> datetime | None:
        row = self._one(
            "SELECT MIN(invoke_after_us) FROM executions WHERE needs_invocation = 1"
            " AND status = 'RUNNING' AND request_id IS NULL"
        )
        return opt_from_us(row[0])

    def executions_with_open_invocation(self) -> list[ExecutionRecord]:
        rows = self._all(f"SELECT {EXEC_COLUMNS} FROM executions WHERE request_id IS NOT NULL ORDER BY key")
        return [exec_from_row(r) for r in rows]

    def function_names(self) -> list[str]:
        rows = self._all("SELECT DISTINCT function_name FROM executions ORDER BY function_name")
        return [str(r[0]) for r in rows]

    def child_executions(self, parent_arn: str) -> list[ExecutionRecord]:
        rows = self._all(
            f"SELECT {EXEC_COLUMNS} FROM executions WHERE parent_arn = %s ORDER BY key", (parent_arn,)
        )
        return [exec_from_row(r) for r in rows]

    # ---------------------------------------------------------------- operations
    def get_operation(self, execution_key: int, operation_id: str) -> Operation | None:
        return self.get_operations(execution_key, (operation_id,)).get(operation_id)

    def get_operations(self, execution_key: int, operation_ids: Collection[str]) -> dict[str, Operation]:
        if not operation_ids:
            return {}
        rows = self._all(_SELECT_OPERATIONS, (execution_key, list(operation_ids)))
        return {row[1]: op_from_row(row) for row in rows}

    def put_operations(self, execution_key: int, operations: Sequence[tuple[int, Operation]]) -> None:
        rows = [(execution_key, seq, *op_values(op)) for seq, op in operations]
        if rows:
            with self._c.cursor() as cur:
                cur.executemany(_UPSERT_OPERATION, rows)

    def log_change(self, execution_key: int, operation_id: str, change: int) -> None:
        self._c.execute(
            "INSERT INTO operation_changes (execution_key, operation_id, change_seq) VALUES (%s, %s, %s)"
            " ON CONFLICT (execution_key, operation_id) DO UPDATE SET change_seq = excluded.change_seq",
            (execution_key, operation_id, change),
        )

    def operations_changed(
        self, execution_key: int, after_change: int, upto_change: int, limit: int
    ) -> list[tuple[int, Operation]]:
        rows = self._all(_SELECT_CHANGED, (execution_key, after_change, upto_change, limit))
        return [(r[0], op_from_row(r[1:])) for r in rows]

    def prune_changes(self, execution_key: int, upto_change: int) -> None:
        self._c.execute(
            "DELETE FROM operation_changes WHERE execution_key = %s AND change_seq <= %s",
            (execution_key, upto_change),
        )

    def list_operations(self, execution_key: int, after_seq: int, limit: int) -> list[tuple[int, Operation]]:
        rows = self._all(
            f"SELECT {_OP_SELECT} FROM operations o WHERE o.execution_key = %s AND o.seq > %s"
            " ORDER BY o.seq LIMIT %s",
            (execution_key, after_seq, limit),
        )
        return [(r[0], op_from_row(r)) for r in rows]

    def operation_summaries(
        self, execution_key: int, after_seq: int, limit: int
    ) -> list[tuple[int, OperationSummary]]:
        rows = self._all(
            f"SELECT {SUMMARY_COLUMNS} FROM operations WHERE execution_key = %s AND seq > %s"
            " ORDER BY seq LIMIT %s",
            (execution_key, after_seq, limit),
        )
        return [summary_from_row(r) for r in rows]

    # ------------------------------------------------------------------- history
    def append_events(self, execution_key: int, events: Sequence[Event]) -> None:
        rows = [
            (
                execution_key,
                e.event_id,
                e.event_type._value_,
                to_us(e.event_timestamp),
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

    def list_events(
        self, execution_key: int, after_event_id: int | None, limit: int, reverse: bool
    ) -> list[Event]:
        if reverse:
            bound = after_event_id if after_event_id is not None else 2**62
            sql = "event_id < %s ORDER BY event_id DESC"
        else:
            bound = after_event_id if after_event_id is not None else 0
            sql = "event_id > %s ORDER BY event_id ASC"
        rows = self._all(f"{_SELECT_EVENTS}{sql} LIMIT %s", (execution_key, bound, limit))
        return [event_from_row(r) for r in rows]

    # -------------------------------------------------------------------- timers
    def set_timer(self, execution_key: int, operation_id: str, kind: TimerKind, due: datetime) -> None:
        self._c.execute(
            "INSERT INTO timers (execution_key, operation_id, kind, due_us) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (execution_key, operation_id, kind) DO UPDATE SET due_us = excluded.due_us",
            (execution_key, operation_id, kind.value, to_us(due)),
        )

    def delete_timer(self, execution_key: int, operation_id: str, kind: TimerKind) -> None:
        self._c.execute(
            "DELETE FROM timers WHERE execution_key = %s AND operation_id = %s AND kind = %s",
            (execution_key, operation_id, kind.value),
        )

    def take_timer(self, timer: Timer) -> bool:
        cur = self._c.execute(
            "DELETE FROM timers WHERE execution_key = %s AND operation_id = %s AND kind = %s AND due_us = %s",
            (timer.execution_key, timer.operation_id, timer.kind.value, to_us(timer.due)),
        )
        return cur.rowcount == 1

    def delete_timers(self, execution_key: int) -> None:
        self._c.execute("DELETE FROM timers WHERE execution_key = %s", (execution_key,))

    def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        rows = self._all(
            "SELECT t.execution_key, e.arn, t.operation_id, t.kind, t.due_us FROM timers t"
            " JOIN executions e ON e.key = t.execution_key WHERE t.due_us <= %s"
            " ORDER BY t.due_us, t.execution_key, t.operation_id, t.kind LIMIT %s",
            (to_us(now), limit),
        )
        return [Timer(r[0], r[1], r[2], TimerKind(r[3]), from_us(r[4])) for r in rows]

    def due_timers_of(self, execution_key: int, arn: str, now: datetime) -> list[Timer]:
        rows = self._all(
            "SELECT operation_id, kind, due_us FROM timers WHERE execution_key = %s AND due_us <= %s"
            " ORDER BY due_us, operation_id, kind",
            (execution_key, to_us(now)),
        )
        return [Timer(execution_key, arn, r[0], TimerKind(r[1]), from_us(r[2])) for r in rows]

    def next_timer_due(self, *, deadlines: bool = True) -> datetime | None:
        if deadlines:
            return opt_from_us(self._one("SELECT MIN(due_us) FROM timers")[0])
        row = self._one(
            "SELECT MIN(due_us) FROM timers WHERE kind != %s", (TimerKind.EXECUTION_TIMEOUT.value,)
        )
        return opt_from_us(row[0])

    # ------------------------------------------------------------ idempotency
    def get_checkpoint_request(self, execution_key: int, client_token: str) -> tuple[str, str | None] | None:
        row = self._one(
            "SELECT digest, response FROM checkpoint_requests WHERE execution_key = %s AND client_token = %s",
            (execution_key, client_token),
        )
        return None if row is None else (row[0], row[1])

    def put_checkpoint_request(
        self, execution_key: int, client_token: str, digest: str, response: str
    ) -> None:
        self._c.execute(
            "UPDATE checkpoint_requests SET response = NULL WHERE execution_key = %s AND response IS NOT NULL",
            (execution_key,),
        )
        self._c.execute(
            "INSERT INTO checkpoint_requests (execution_key, client_token, digest, response)"
            " VALUES (%s, %s, %s, %s)",
            (execution_key, client_token, digest, response),
        )

    # --------------------------------------------------------------- invocations
    def insert_invocation(self, execution_key: int, request_id: str, start: datetime) -> None:
        self._c.execute(
            "INSERT INTO invocations (request_id, execution_key, start_us) VALUES (%s, %s, %s)",
            (request_id, execution_key, to_us(start)),
        )

    def complete_invocation(self, request_id: str, end: datetime, error: ErrorObject | None) -> None:
        self._c.execute(
            "UPDATE invocations SET end_us = %s, error = %s WHERE request_id = %s",
            (to_us(end), error_to_json(error), request_id),
        )


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
        self._begin_sql = f"{self._lock_sql}, nextval('transactions')"
        self._own = 0
        """Numbers this store took from the `transactions` sequence."""
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
        return StoreError(f"perdure database {self.location}: {doing} failed: {exc}")

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
            return _PostgresTx(self._conn)
        raise AssertionError("unreachable")

    def _member(self) -> _PostgresTx:
        return _PostgresTx(self._conn)

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

    def close(self) -> None:
        with self._lock:
            self._finish_open_group()
            self._conn.close()
