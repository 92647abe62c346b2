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

import contextlib
import functools
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from perdure.engine.errors import StoreCorruptedError, StoreError
from perdure.wire.types import (
    CallbackDetails,
    ChainedInvokeDetails,
    ContextDetails,
    ErrorObject,
    Event,
    EventResult,
    EventType,
    ExecutionDetails,
    ExecutionStatus,
    Operation,
    OperationStatus,
    OperationType,
    StepDetails,
    WaitDetails,
)

from .records import (
    ExecutionQuery,
    ExecutionRecord,
    OperationSummary,
    Timer,
    TimerKind,
    details_from_json,
    details_to_json,
    error_from_json,
    error_to_json,
    from_us,
    opt_from_us,
    opt_to_us,
    to_us,
)
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


_EXEC_COLUMNS = (
    "key, arn, execution_id, function_name, function_arn, name, status, input_payload, start_us,"
    " end_us, execution_timeout, result, error, closing_status, checkpoint_token, request_id,"
    " invocation_start_us, next_event_id, operation_count, needs_invocation, invoke_after_us,"
    " failed_invocations, invocation_count, updated_operation_ids, invoker, parent_arn,"
    " parent_operation_id, revoked_token, change_seq, reported_seq"
)
_OP_COLUMNS = (
    "seq, operation_id, type, status, parent_id, name, sub_type, start_us, end_us, attempt,"
    " next_attempt_us, scheduled_end_us, result, error, replay_children, input_payload, callback_id"
)
_EVENT_COLUMNS = "event_id, event_type, timestamp_us, operation_id, name, sub_type, parent_id, details"

# Hot-path statements, built once (sqlite3 caches prepared statements by SQL text).
_EXEC_SET_COLUMNS = _EXEC_COLUMNS.removeprefix("key, ").split(", ")
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
    "SELECT seq, operation_id, type, status, parent_id, name, sub_type, start_us, end_us, attempt,"
    " next_attempt_us, scheduled_end_us, callback_id, replay_children, error"
    " FROM operations WHERE execution_key = ? AND seq > ? ORDER BY seq LIMIT ?"
)
"""An execution's operations without their payloads (`operation_summaries`)."""
_OPERATION_TYPES = {t._value_: t for t in OperationType}
_OPERATION_STATUSES = {s._value_: s for s in OperationStatus}
"""Stored names to members: a dict lookup is ten times cheaper than calling the enum."""
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


def _exec_from_row(row: Sequence[Any]) -> ExecutionRecord:
    ids = row[23]
    return ExecutionRecord(
        key=row[0],
        arn=row[1],
        execution_id=row[2],
        function_name=row[3],
        function_arn=row[4],
        name=row[5],
        status=ExecutionStatus(row[6]),
        input_payload=row[7],
        start_timestamp=from_us(row[8]),
        end_timestamp=opt_from_us(row[9]),
        execution_timeout=row[10],
        result=row[11],
        error=error_from_json(row[12]),
        closing_status=None if row[13] is None else ExecutionStatus(row[13]),
        checkpoint_token=row[14],
        request_id=row[15],
        invocation_started=opt_from_us(row[16]),
        next_event_id=row[17],
        operation_count=row[18],
        needs_invocation=bool(row[19]),
        invoke_after=opt_from_us(row[20]),
        failed_invocations=row[21],
        invocation_count=row[22],
        updated_operation_ids=tuple(ids.split(",")) if ids else (),
        invoker=row[24],
        parent_arn=row[25],
        parent_operation_id=row[26],
        revoked_token=row[27],
        change_seq=row[28],
        reported_seq=row[29],
    )


def _exec_values(r: ExecutionRecord) -> tuple[Any, ...]:
    return (
        r.arn,
        r.execution_id,
        r.function_name,
        r.function_arn,
        r.name,
        r.status._value_,  # `.value` is a property: this runs for every checkpoint
        r.input_payload,
        to_us(r.start_timestamp),
        opt_to_us(r.end_timestamp),
        r.execution_timeout,
        r.result,
        error_to_json(r.error),
        None if r.closing_status is None else r.closing_status.value,
        r.checkpoint_token,
        r.request_id,
        opt_to_us(r.invocation_started),
        r.next_event_id,
        r.operation_count,
        int(r.needs_invocation),
        opt_to_us(r.invoke_after),
        r.failed_invocations,
        r.invocation_count,
        ",".join(r.updated_operation_ids),
        r.invoker,
        r.parent_arn,
        r.parent_operation_id,
        r.revoked_token,
        r.change_seq,
        r.reported_seq,
    )


def _op_values(op: Operation) -> tuple[Any, ...]:
    attempt = next_attempt = scheduled_end = result = error = replay = input_payload = callback_id = None
    if op.step_details is not None:
        d = op.step_details
        attempt, next_attempt, result, error = (
            d.attempt,
            opt_to_us(d.next_attempt_timestamp),
            d.result,
            d.error,
        )
    elif op.wait_details is not None:
        scheduled_end = opt_to_us(op.wait_details.scheduled_end_timestamp)
    elif op.context_details is not None:
        c = op.context_details
        result, error = c.result, c.error
        replay = None if c.replay_children is None else int(c.replay_children)
    elif op.execution_details is not None:
        input_payload = op.execution_details.input_payload
    elif op.callback_details is not None:
        callback_id, result, error = (
            op.callback_details.callback_id,
            op.callback_details.result,
            op.callback_details.error,
        )
    elif op.chained_invoke_details is not None:
        result, error = op.chained_invoke_details.result, op.chained_invoke_details.error
    return (
        op.id,
        op.type._value_,  # `.value` is a property: these run for every operation written
        op.status._value_,
        op.parent_id,
        op.name,
        op.sub_type,
        to_us(op.start_timestamp),
        opt_to_us(op.end_timestamp),
        attempt,
        next_attempt,
        scheduled_end,
        result,
        error_to_json(error),
        replay,
        input_payload,
        callback_id,
    )


def _op_from_row(row: Sequence[Any]) -> Operation:
    op_type = OperationType(row[2])
    result: str | None = row[12]
    error: ErrorObject | None = error_from_json(row[13])
    kwargs: dict[str, Any] = {}
    if op_type is OperationType.STEP:
        kwargs["step_details"] = StepDetails(
            attempt=row[9], next_attempt_timestamp=opt_from_us(row[10]), result=result, error=error
        )
    elif op_type is OperationType.WAIT:
        kwargs["wait_details"] = WaitDetails(scheduled_end_timestamp=opt_from_us(row[11]))
    elif op_type is OperationType.CONTEXT:
        kwargs["context_details"] = ContextDetails(
            replay_children=None if row[14] is None else bool(row[14]), result=result, error=error
        )
    elif op_type is OperationType.EXECUTION:
        kwargs["execution_details"] = ExecutionDetails(input_payload=row[15])
    elif op_type is OperationType.CALLBACK:
        kwargs["callback_details"] = CallbackDetails(callback_id=row[16], result=result, error=error)
    elif op_type is OperationType.CHAINED_INVOKE:
        kwargs["chained_invoke_details"] = ChainedInvokeDetails(result=result, error=error)
    return Operation(
        id=row[1],
        type=op_type,
        status=OperationStatus(row[3]),
        parent_id=row[4],
        name=row[5],
        sub_type=row[6],
        start_timestamp=from_us(row[7]),
        end_timestamp=opt_from_us(row[8]),
        **kwargs,
    )


def _event_from_row(row: Sequence[Any]) -> Event:
    details = details_from_json(row[7])
    if row[8] is not None:  # the result is kept by its operation or execution (schema 6)
        truncated = details.result.truncated if details.result is not None else False
        details = replace(details, result=EventResult(payload=row[8], truncated=truncated))
    return Event(
        event_id=row[0],
        event_type=EventType(row[1]),
        event_timestamp=from_us(row[2]),
        id=row[3],
        name=row[4],
        sub_type=row[5],
        parent_id=row[6],
        details=details,
    )


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
        rows = self._c.execute(_SELECT_SUMMARIES, (execution_key, after_seq, limit))
        return [
            (
                r[0],
                OperationSummary(
                    id=r[1],
                    type=_OPERATION_TYPES[r[2]],
                    status=_OPERATION_STATUSES[r[3]],
                    parent_id=r[4],
                    name=r[5],
                    sub_type=r[6],
                    start_us=r[7],
                    end_us=r[8],
                    attempt=r[9],
                    next_attempt_us=r[10],
                    scheduled_end_us=r[11],
                    callback_id=r[12],
                    replay_children=None if r[13] is None else bool(r[13]),
                    error=error_from_json(r[14]),
                ),
            )
            for r in rows
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


class SqliteStore:
    """The durable store: one SQLite file (created with its parent directory if missing).

    Args:
        path: the database file.
        durability: `Durability.FULL` (default) or `Durability.NORMAL` (see the enum).

    Raises:
        StoreCorruptedError: the file is not a perdure database or is damaged.
        StoreError: the file cannot be opened or migrated.
    """

    def __init__(self, path: str | Path, *, durability: Durability | str = Durability.FULL) -> None:
        self._path = Path(path)
        self._durability = Durability(durability)
        self._lock = threading.RLock()
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

    def _translate(self, exc: sqlite3.Error, doing: str) -> StoreError:
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
        with self._lock:
            c = self._conn
            try:
                c.execute("BEGIN IMMEDIATE")
                # Changes only when another connection (or process) has committed since.
                self._cache.check(c.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error as exc:
                raise self._translate(exc, "begin") from None
            tx = _SqliteTx(c, self._cache)
            try:
                yield tx
            except sqlite3.Error as exc:
                self._rollback()
                raise self._translate(exc, "transaction") from None
            except BaseException:
                self._rollback()
                raise
            try:
                c.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise self._translate(exc, "commit") from None
            self._cache.commit(tx._created, tx._written)

    def _rollback(self) -> None:
        # SQLite may already have rolled back (e.g. after SQLITE_FULL): nothing left to undo.
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error as exc:
                raise self._translate(exc, "close") from None
