"""`SqliteStore`: the durable store, one SQLite file in WAL mode.

Durability: `synchronous=FULL` by default, so an acknowledged checkpoint survives a power
loss. `Durability.NORMAL` (synchronous=NORMAL) still survives a killed process, but a power
loss or OS crash may lose the last acknowledged checkpoints; it is ~50x faster per commit.

One connection per store, shared by threads under a lock (the SDK's checkpoint thread and
the scheduler both write). Writers take `BEGIN IMMEDIATE`, so two stores (or processes)
on one file serialise on SQLite's write lock; the busy timeout makes the loser wait
instead of failing. Every sqlite3 error is translated here into a `StoreError` naming the
file. Imports only `perdure.wire`, `perdure.engine.errors` and the standard library.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from perdure.engine.errors import StoreCorruptedError, StoreError
from perdure.wire.types import (
    ErrorObject,
    Event,
    EventResult,
    EventType,
    Operation,
    OperationStatus,
)

from .group import GroupCommit
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
from .rows import EVENT_COLUMNS as _EVENT_COLUMNS
from .rows import EXEC_COLUMNS as _EXEC_COLUMNS
from .rows import EXEC_SET_COLUMNS as _EXEC_SET_COLUMNS
from .rows import OP_COLUMNS as _OP_COLUMNS
from .rows import SUMMARY_COLUMNS as _SUMMARY_COLUMNS
from .rows import event_from_row as _event_from_row
from .rows import exec_from_row as _exec_from_row
from .rows import exec_values as _exec_values
from .rows import op_from_row as _op_from_row
from .rows import op_values as _op_values
from .rows import summary_from_row as _summary_from_row
from .schema import APPLICATION_ID, CURRENT, MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 30_000
"""How long a writer waits for another connection's write lock before giving up. Long
enough to ride out a concurrent writer's fsync-bound transaction, short enough to surface
a genuinely stuck peer."""


class Durability(StrEnum):
    """How hard a commit tries to reach the disk."""

    FULL = "full"
    """synchronous=FULL: an acknowledged checkpoint survives a power loss (the default)."""
    NORMAL = "normal"
    """synchronous=NORMAL: survives a killed process; a power loss may lose the last commits."""


# Hot-path statements, built once (sqlite3 caches prepared statements by SQL text).
_SELECT_EXECUTION = f"SELECT {_EXEC_COLUMNS} FROM executions WHERE arn = ?"
_INSERT_EXECUTION = f"INSERT INTO executions ({', '.join(_EXEC_SET_COLUMNS)}) VALUES ({', '.join('?' * len(_EXEC_SET_COLUMNS))})"


@functools.lru_cache(maxsize=64)
def _update_execution(columns: tuple[int, ...]) -> str:
    """The UPDATE of the execution columns at these positions of `_EXEC_SET_COLUMNS`."""
    return f"UPDATE executions SET {', '.join(f'{_EXEC_SET_COLUMNS[i]} = ?' for i in columns)} WHERE key = ?"


_ALL_EXECUTION_COLUMNS = tuple(range(len(_EXEC_SET_COLUMNS)))
_SPILL_LENGTH = 1024
"""Results of this many characters or more are kept in `operation_results` (schema 7)."""
_RESULT = "COALESCE(o.result, (SELECT r.result FROM operation_results r WHERE r.rowid = o.result_row))"
"""An operation's result, kept in its row or in `operation_results`."""
_OP_SELECT = ", ".join(_RESULT if c == "result" else f"o.{c}" for c in _OP_COLUMNS.split(", "))
"""`_OP_COLUMNS` as read from `operations o` (the result wherever it is kept)."""
_SELECT_OPERATION = f"SELECT {_OP_SELECT} FROM operations o WHERE o.execution_key = ? AND o.operation_id = ?"
_SELECT_SUMMARIES = (
    f"SELECT {_SUMMARY_COLUMNS} FROM operations WHERE execution_key = ? AND seq > ? ORDER BY seq LIMIT ?"
)
"""An execution's operations without their payloads (`operation_summaries`)."""
_IN_CHUNK = 512
"""Ids per `WHERE operation_id IN (...)` read (well under SQLite's bound-parameter limit)."""


@functools.lru_cache(maxsize=16)
def _select_operations(count: int) -> str:
    """The read of `count` operations by id; `count` is a power of two, so a handful of SQL
    texts serve every request size and stay in sqlite3's prepared-statement cache."""
    marks = ", ".join("?" * count)
    return f"SELECT {_OP_SELECT} FROM operations o WHERE o.execution_key = ? AND o.operation_id IN ({marks})"


_UPSERT_OPERATION = (
    f"INSERT INTO operations (execution_key, {_OP_COLUMNS}, result_row) VALUES (?, ?, {', '.join('?' * 17)})"
    " ON CONFLICT (execution_key, operation_id) DO UPDATE SET status = excluded.status,"
    " end_us = excluded.end_us, attempt = excluded.attempt,"
    " next_attempt_us = excluded.next_attempt_us, scheduled_end_us = excluded.scheduled_end_us,"
    " result = excluded.result, error = excluded.error,"
    " replay_children = excluded.replay_children, callback_id = excluded.callback_id,"
    " result_row = excluded.result_row"
)
_SELECT_CHANGED = (
    f"SELECT c.change_seq, {_OP_SELECT}"
    " FROM operation_changes c JOIN operations o"
    " ON o.execution_key = c.execution_key AND o.operation_id = c.operation_id"
    " WHERE c.execution_key = ? AND c.change_seq > ? AND c.change_seq <= ? ORDER BY c.change_seq LIMIT ?"
)
_INSERT_EVENT = (
    f"INSERT INTO events (execution_key, {_EVENT_COLUMNS}, result_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT_EVENTS = (
    f"SELECT {', '.join('e.' + c for c in _EVENT_COLUMNS.split(', '))},"
    f" CASE e.result_ref WHEN 1 THEN {_RESULT} WHEN 2 THEN x.result END"
    " FROM events e"
    " LEFT JOIN operations o ON e.result_ref = 1 AND o.execution_key = e.execution_key"
    " AND o.operation_id = e.operation_id"
    " LEFT JOIN executions x ON e.result_ref = 2 AND x.key = e.execution_key"
    " WHERE e.execution_key = ? AND "
)
_REF_OPERATION, _REF_EXECUTION = 1, 2
_REF_MIN_LENGTH = 256
"""Results shorter than this are copied into their event (a reference would save little)."""
_REF_EVENTS = frozenset(
    {
        EventType.STEP_SUCCEEDED,
        EventType.CONTEXT_SUCCEEDED,
        EventType.CALLBACK_SUCCEEDED,
        EventType.CHAINED_INVOKE_SUCCEEDED,
    }
)
"""Terminal success events of operations (an operation's result never changes afterwards)."""
_RESULT_COLUMN = _EXEC_SET_COLUMNS.index("result")


def _statements(script: str) -> Iterator[str]:
    """The statements of a migration script (a trigger's body holds `;` too)."""
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""


class _OperationCache:
    """Operations as this connection last read or committed them, by (execution key, id).

    Every checkpoint reads the operations it names before it changes them; most were
    written by the previous checkpoint of the same invocation, so they are served from here
    instead of the id index. It only ever holds committed state: a transaction's own writes
    join it when the transaction commits, and it is emptied whenever `PRAGMA data_version`
    shows that another connection, in this process or another, has committed. Operations
    with a payload of `_SPILL_LENGTH` characters or more are not kept (they are read back,
    as before); at `MAX_ENTRIES` it starts over.

    For an execution this connection created, it also knows every operation id (`ids`), so
    the ids a checkpoint starts are known to be new without a read.
    """

    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self.operations: dict[tuple[int, str], Operation] = {}
        self.ids: dict[int, set[str]] = {}
        """Every operation id of each execution this connection created (since the cache
        last started over): an id missing from its set names no operation."""
        self._data_version: int | None = None

    def check(self, data_version: int) -> None:
        """Forget everything if the file changed under this connection."""
        if data_version != self._data_version:
            self._clear()
            self._data_version = data_version

    def _clear(self) -> None:
        self.operations.clear()
        self.ids.clear()

    def reset(self) -> None:
        """Forget everything (writes it holds were lost with their transaction)."""
        self._clear()
        self._data_version = None

    def commit(self, created: list[int], written: dict[tuple[int, str], Operation]) -> None:
        """Take what a transaction that committed created and wrote."""
        for execution_key in created:
            self.ids[execution_key] = set()
        for (execution_key, operation_id), op in written.items():
            ids = self.ids.get(execution_key)
            if ids is not None:
                ids.add(operation_id)
            self.keep(execution_key, op)

    def keep(self, execution_key: int, op: Operation) -> None:
        key = (execution_key, op.id)
        if _payload_length(op) >= _SPILL_LENGTH:
            self.operations.pop(key, None)
            return
        if len(self.operations) >= self.MAX_ENTRIES:
            self._clear()
        self.operations[key] = op


def _payload_length(op: Operation) -> int:
    """The length of the operation's largest text member (a result, an error, an input)."""
    details = op.step_details or op.context_details or op.callback_details or op.chained_invoke_details
    length = 0
    if details is not None:
        length = len(details.result or "")
        error = details.error
        if error is not None:
            length = max(
                length,
                len(error.error_message or ""),
                len(error.error_data or ""),
                sum(len(line) for line in error.stack_trace or ()),
            )
    if op.execution_details is not None:
        length = max(length, len(op.execution_details.input_payload or ""))
    return length


class _SqliteTx:
    """`StoreTx` over one connection inside an open transaction."""

    def __init__(self, conn: sqlite3.Connection, cache: _OperationCache) -> None:
        self._c = conn
        self._cache = cache
        self._written: dict[tuple[int, str], Operation] = {}
        """Operations this transaction wrote (the cache takes them when it commits)."""
        self._created: list[int] = []
        """Keys of the executions this transaction inserted."""
        self._stored: dict[int, Sequence[Any]] = {}
        self._results: dict[tuple[int, str], str] = {}
        """Large results of the operations this transaction wrote SUCCEEDED (`append_events`)."""
        """Execution columns as this transaction last read or wrote them, by key: an update
        writes only the columns that changed, so the indexes over the others (ARN, name,
        start time, open invocation) are not rewritten by every checkpoint."""

    # ---------------------------------------------------------------- executions
    def get_execution(self, arn: str) -> ExecutionRecord | None:
        row = self._c.execute(_SELECT_EXECUTION, (arn,)).fetchone()
        if row is None:
            return None
        self._stored[row[0]] = row[1:]
        return _exec_from_row(row)

    def find_execution(self, function_name: str, name: str) -> ExecutionRecord | None:
        row = self._c.execute(
            f"SELECT {_EXEC_COLUMNS} FROM executions WHERE function_name = ? AND name = ?",
            (function_name, name),
        ).fetchone()
        return None if row is None else _exec_from_row(row)

    def insert_execution(self, record: ExecutionRecord) -> None:
        cur = self._c.execute(_INSERT_EXECUTION, _exec_values(record))
        assert cur.lastrowid is not None
        record.key = cur.lastrowid
        self._created.append(record.key)

    def update_execution(self, record: ExecutionRecord) -> None:
        values = _exec_values(record)
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
        where = ["1"]
        args: list[Any] = []
        if query.function_name is not None:
            where.append("function_name = ?")
            args.append(query.function_name)
        if query.name is not None:
            where.append("name = ?")
            args.append(query.name)
        if query.name_contains:
            where.append("instr(name, ?) > 0")
            args.append(query.name_contains)
        if query.statuses:
            where.append(f"status IN ({', '.join('?' * len(query.statuses))})")
            args.extend(s.value for s in query.statuses)
        if query.started_after is not None:
            where.append("start_us >= ?")
            args.append(to_us(query.started_after))
        if query.started_before is not None:
            where.append("start_us <= ?")
            args.append(to_us(query.started_before))
        if query.after_key is not None:
            where.append("key < ?" if query.reverse else "key > ?")
            args.append(query.after_key)
        order = "DESC" if query.reverse else "ASC"
        sql = (
            f"SELECT {_EXEC_COLUMNS} FROM executions WHERE {' AND '.join(where)} ORDER BY key {order} LIMIT ?"
        )
        return [_exec_from_row(r) for r in self._c.execute(sql, (*args, query.limit))]

    def executions_to_invoke(self, now: datetime, limit: int) -> list[str]:
        rows = self._c.execute(
            "SELECT arn FROM executions WHERE needs_invocation = 1 AND status = 'RUNNING'"
            " AND request_id IS NULL AND (invoke_after_us IS NULL OR invoke_after_us <= ?)"
            " ORDER BY key LIMIT ?",
            (to_us(now), limit),
        ).fetchall()
        return [r[0] for r in rows]

    def next_invoke_after(self) -> datetime | None:
        row = self._c.execute(
            "SELECT MIN(invoke_after_us) FROM executions WHERE needs_invocation = 1"
            " AND status = 'RUNNING' AND request_id IS NULL"
        ).fetchone()
        return opt_from_us(row[0])

    def executions_with_open_invocation(self) -> list[ExecutionRecord]:
        rows = self._c.execute(f"SELECT {_EXEC_COLUMNS} FROM executions WHERE request_id IS NOT NULL")
        return [_exec_from_row(r) for r in rows]

    def function_names(self) -> list[str]:
        rows = self._c.execute("SELECT DISTINCT function_name FROM executions ORDER BY function_name")
        return [str(r[0]) for r in rows]

    def child_executions(self, parent_arn: str) -> list[ExecutionRecord]:
        rows = self._c.execute(
            f"SELECT {_EXEC_COLUMNS} FROM executions WHERE parent_arn = ? ORDER BY key", (parent_arn,)
        )
        return [_exec_from_row(r) for r in rows]

    # ---------------------------------------------------------------- operations
    def get_operation(self, execution_key: int, operation_id: str) -> Operation | None:
        return self.get_operations(execution_key, (operation_id,)).get(operation_id)

    def get_operations(self, execution_key: int, operation_ids: Collection[str]) -> dict[str, Operation]:
        found: dict[str, Operation] = {}
        ids = []
        written, cached = self._written, self._cache.operations
        known = self._cache.ids.get(execution_key)
        for operation_id in operation_ids:
            key = (execution_key, operation_id)
            op = written.get(key) or cached.get(key)
            if op is not None:
                found[operation_id] = op
            elif known is None or operation_id in known:
                ids.append(operation_id)
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            if len(chunk) == 1:
                rows = self._c.execute(_SELECT_OPERATION, (execution_key, chunk[0]))
            else:
                size = 1 << (len(chunk) - 1).bit_length()  # padded with a repeated id
                chunk += [chunk[-1]] * (size - len(chunk))
                rows = self._c.execute(_select_operations(size), (execution_key, *chunk))
            for row in rows:
                op = found[row[1]] = _op_from_row(row)
                self._cache.keep(execution_key, op)
        return found

    def put_operations(self, execution_key: int, operations: Sequence[tuple[int, Operation]]) -> None:
        rows = []
        for seq, op in operations:
            row = (execution_key, seq, *_op_values(op), None)
            result = row[13]
            if result is not None and len(result) >= _REF_MIN_LENGTH:
                if op.status is OperationStatus.SUCCEEDED:
                    self._results[(execution_key, op.id)] = result
                if len(result) >= _SPILL_LENGTH:
                    kept = self._c.execute("INSERT INTO operation_results (result) VALUES (?)", (result,))
                    row = (*row[:13], None, *row[14:-1], kept.lastrowid)
            rows.append(row)
            self._written[(execution_key, op.id)] = op
        self._c.executemany(_UPSERT_OPERATION, rows)

    def log_change(self, execution_key: int, operation_id: str, change: int) -> None:
        self._c.execute(
            "INSERT OR REPLACE INTO operation_changes (execution_key, operation_id, change_seq) VALUES (?, ?, ?)",
            (execution_key, operation_id, change),
        )

    def operations_changed(
        self, execution_key: int, after_change: int, upto_change: int, limit: int
    ) -> list[tuple[int, Operation]]:
        rows = self._c.execute(_SELECT_CHANGED, (execution_key, after_change, upto_change, limit))
        return [(r[0], _op_from_row(r[1:])) for r in rows]

    def prune_changes(self, execution_key: int, upto_change: int) -> None:
        self._c.execute(
            "DELETE FROM operation_changes WHERE execution_key = ? AND change_seq <= ?",
            (execution_key, upto_change),
        )

    def list_operations(self, execution_key: int, after_seq: int, limit: int) -> list[tuple[int, Operation]]:
        rows = self._c.execute(
            f"SELECT {_OP_SELECT} FROM operations o WHERE o.execution_key = ? AND o.seq > ?"
            " ORDER BY o.seq LIMIT ?",
            (execution_key, after_seq, limit),
        )
        return [(r[0], _op_from_row(r)) for r in rows]

    def operation_summaries(
        self, execution_key: int, after_seq: int, limit: int
    ) -> list[tuple[int, OperationSummary]]:
        return [
            _summary_from_row(r)
            for r in self._c.execute(_SELECT_SUMMARIES, (execution_key, after_seq, limit))
        ]

    # ------------------------------------------------------------------- history
    def append_events(self, execution_key: int, events: Sequence[Event]) -> None:
        """An event whose large result is the one its operation or execution recorded earlier
        in this transaction keeps a reference to it instead of a copy (schema 6)."""
        rows = []
        for e in events:
            details, ref = e.details, None
            result = details.result
            if result is not None and result.payload is not None and len(result.payload) >= _REF_MIN_LENGTH:
                if e.event_type in _REF_EVENTS:
                    if self._results.get((execution_key, e.id or "")) == result.payload:
                        ref = _REF_OPERATION
                elif e.event_type is EventType.EXECUTION_SUCCEEDED:
                    stored = self._stored.get(execution_key)
                    if stored is not None and stored[_RESULT_COLUMN] == result.payload:
                        ref = _REF_EXECUTION
                if ref is not None:
                    details = replace(details, result=EventResult(payload=None, truncated=result.truncated))
            rows.append(
                (
                    execution_key,
                    e.event_id,
                    e.event_type._value_,
                    to_us(e.event_timestamp),
                    e.id,
                    e.name,
                    e.sub_type,
                    e.parent_id,
                    details_to_json(details),
                    ref,
                )
            )
        self._c.executemany(_INSERT_EVENT, rows)

    def list_events(
        self, execution_key: int, after_event_id: int | None, limit: int, reverse: bool
    ) -> list[Event]:
        if reverse:
            bound = after_event_id if after_event_id is not None else 2**62
            sql = "event_id < ? ORDER BY event_id DESC"
        else:
            bound = after_event_id if after_event_id is not None else 0
            sql = "event_id > ? ORDER BY event_id ASC"
        rows = self._c.execute(
            f"{_SELECT_EVENTS}e.{sql.replace('ORDER BY ', 'ORDER BY e.')} LIMIT ?",
            (execution_key, bound, limit),
        )
        return [_event_from_row(r) for r in rows]

    # -------------------------------------------------------------------- timers
    def set_timer(self, execution_key: int, operation_id: str, kind: TimerKind, due: datetime) -> None:
        self._c.execute(
            "INSERT OR REPLACE INTO timers (execution_key, operation_id, kind, due_us) VALUES (?, ?, ?, ?)",
            (execution_key, operation_id, kind.value, to_us(due)),
        )

    def delete_timer(self, execution_key: int, operation_id: str, kind: TimerKind) -> None:
        self._c.execute(
            "DELETE FROM timers WHERE execution_key = ? AND operation_id = ? AND kind = ?",
            (execution_key, operation_id, kind.value),
        )

    def take_timer(self, timer: Timer) -> bool:
        cur = self._c.execute(
            "DELETE FROM timers WHERE execution_key = ? AND operation_id = ? AND kind = ? AND due_us = ?",
            (timer.execution_key, timer.operation_id, timer.kind.value, to_us(timer.due)),
        )
        return cur.rowcount == 1

    def delete_timers(self, execution_key: int) -> None:
        self._c.execute("DELETE FROM timers WHERE execution_key = ?", (execution_key,))

    def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        rows = self._c.execute(
            "SELECT t.execution_key, e.arn, t.operation_id, t.kind, t.due_us FROM timers t"
            " JOIN executions e ON e.key = t.execution_key WHERE t.due_us <= ?"
            " ORDER BY t.due_us, t.execution_key, t.operation_id, t.kind LIMIT ?",
            (to_us(now), limit),
        )
        return [Timer(r[0], r[1], r[2], TimerKind(r[3]), from_us(r[4])) for r in rows]

    def due_timers_of(self, execution_key: int, arn: str, now: datetime) -> list[Timer]:
        rows = self._c.execute(
            "SELECT operation_id, kind, due_us FROM timers WHERE execution_key = ? AND due_us <= ?"
            " ORDER BY due_us, operation_id, kind",
            (execution_key, to_us(now)),
        )
        return [Timer(execution_key, arn, r[0], TimerKind(r[1]), from_us(r[2])) for r in rows]

    def next_timer_due(self, *, deadlines: bool = True) -> datetime | None:
        if deadlines:
            return opt_from_us(self._c.execute("SELECT MIN(due_us) FROM timers").fetchone()[0])
        row = self._c.execute(
            "SELECT MIN(due_us) FROM timers WHERE kind != ?", (TimerKind.EXECUTION_TIMEOUT.value,)
        ).fetchone()
        return opt_from_us(row[0])

    # ------------------------------------------------------------ idempotency
    def get_checkpoint_request(self, execution_key: int, client_token: str) -> tuple[str, str | None] | None:
        row = self._c.execute(
            "SELECT digest, response FROM checkpoint_requests WHERE execution_key = ? AND client_token = ?",
            (execution_key, client_token),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def put_checkpoint_request(
        self, execution_key: int, client_token: str, digest: str, response: str
    ) -> None:
        self._c.execute(
            "UPDATE checkpoint_requests SET response = NULL WHERE execution_key = ? AND response IS NOT NULL",
            (execution_key,),
        )
        self._c.execute(
            "INSERT INTO checkpoint_requests (execution_key, client_token, digest, response) VALUES (?, ?, ?, ?)",
            (execution_key, client_token, digest, response),
        )

    # --------------------------------------------------------------- invocations
    def insert_invocation(self, execution_key: int, request_id: str, start: datetime) -> None:
        self._c.execute(
            "INSERT INTO invocations (request_id, execution_key, start_us) VALUES (?, ?, ?)",
            (request_id, execution_key, to_us(start)),
        )

    def complete_invocation(self, request_id: str, end: datetime, error: ErrorObject | None) -> None:
        self._c.execute(
            "UPDATE invocations SET end_us = ?, error = ? WHERE request_id = ?",
            (to_us(end), error_to_json(error), request_id),
        )


class SqliteStore(GroupCommit[_SqliteTx]):
    """The durable store: one SQLite file (created with its parent directory if missing).

    Args:
        path: the database file.
        durability: `Durability.FULL` (default) or `Durability.NORMAL` (see the enum).
        group_commit: transactions of different threads that arrive while one commits share
            the next commit (and its fsync); each is still acknowledged only once that
            commit is durable, and one that fails changes nothing (see `transaction`).

    Raises:
        StoreCorruptedError: the file is not a perdure database or is damaged.
        StoreError: the file cannot be opened or migrated.
    """

    def __init__(
        self, path: str | Path, *, durability: Durability | str = Durability.FULL, group_commit: bool = True
    ) -> None:
        super().__init__(group_commit)
        self._path = Path(path)
        self._durability = Durability(durability)
        self._cache = _OperationCache()
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                str(self._path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the perdure database {self._path}: {exc}") from None
        try:
            self._configure()
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise self._translate(exc, "open") from None

    @property
    def location(self) -> str:
        return str(self._path)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def durability(self) -> Durability:
        return self._durability

    def _configure(self) -> None:
        c = self._conn
        c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = c.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"cannot switch {self._path} to WAL journal mode (got {mode!r})")
        c.execute(f"PRAGMA synchronous = {self._durability.value.upper()}")
        c.execute("PRAGMA foreign_keys = ON")

    def _migrate(self) -> None:
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            version = c.execute("PRAGMA user_version").fetchone()[0]
            app_id = c.execute("PRAGMA application_id").fetchone()[0]
            if version == 0:
                tables = c.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
                if tables:
                    raise StoreCorruptedError(
                        f"{self._path} is an SQLite database but not a perdure one (it has tables and no"
                        " perdure schema version)"
                    )
            elif app_id != APPLICATION_ID:
                raise StoreCorruptedError(f"{self._path} is an SQLite database but not a perdure one")
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self._path} has schema version {version}, newer than this perdure"
                    f" ({SCHEMA_VERSION}); upgrade perdure"
                )
            if version == 0:  # a new file: the current schema at once
                for statement in _statements(CURRENT):
                    c.execute(statement)
                c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            else:
                for index in range(version, SCHEMA_VERSION):
                    for statement in _statements(MIGRATIONS[index]):
                        c.execute(statement)
                    c.execute(f"PRAGMA user_version = {index + 1}")
            if version < SCHEMA_VERSION:
                c.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def external_version(self) -> int:
        # `PRAGMA data_version` changes only when another connection commits: one cheap read
        # of the WAL index, no table touched (https://sqlite.org/pragma.html#pragma_data_version).
        with self._lock:
            try:
                return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error as exc:
                raise self._translate(exc, "read data_version") from None

    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    _errors = (sqlite3.Error,)

    def _translate(self, exc: Exception, doing: str) -> StoreError:
        text = str(exc)
        if isinstance(exc, sqlite3.DatabaseError) and (
            "not a database" in text or "malformed" in text or "corrupt" in text
        ):
            return StoreCorruptedError(
                f"the perdure database {self._path} is corrupted or not a database ({text});"
                " move it aside or point --db/PERDURE_DB elsewhere"
            )
        return StoreError(f"perdure database {self._path}: {doing} failed: {text}")

    @contextmanager
    def transaction(self) -> Iterator[_SqliteTx]:
        """One atomic unit of work, durable when this returns (see `GroupCommit`)."""
        yield from self._transactions()

    def _begin(self) -> _SqliteTx:
        c = self._conn
        try:
            c.execute("BEGIN IMMEDIATE")
            # Changes only when another connection (or process) has committed since.
            self._cache.check(c.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as exc:
            raise self._translate(exc, "begin") from None
        return _SqliteTx(c, self._cache)

    def _member(self) -> _SqliteTx:
        return _SqliteTx(self._conn, self._cache)

    def _run(self, sql: str) -> None:
        self._conn.execute(sql)

    def _joined(self, tx: _SqliteTx) -> None:
        self._cache.commit(tx._created, tx._written)

    def _lost(self) -> None:
        self._cache.reset()

    def close(self) -> None:
        with self._lock:
            self._finish_open_group()
            try:
                self._conn.close()
            except sqlite3.Error as exc:
                raise self._translate(exc, "close") from None
