"""The SQL the SQLite and PostgreSQL stores write the same way, once.

`SqlTx` is the part of a store transaction whose queries the two dialects agree on; each
query is written here with `?` placeholders and `Dialect` rewrites it for its backend
(`%s` for psycopg) once, when the backend module is imported. What differs is a
`Dialect` field (the empty-filter literal, substring search, membership test, how an
operation's result and an event's payload are read) or stays in the backend's module
(inserting an execution, reading and writing operations and events, SQLite's operation
cache). Imports `perdure.wire`, the store's `records` and `rows`, and the standard library.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from itertools import compress
from operator import ne
from typing import Any, ClassVar

from perdure.wire.types import ErrorObject, Event, Operation

from .records import (
    ExecutionQuery,
    ExecutionRecord,
    OperationSummary,
    Timer,
    TimerKind,
    error_to_json,
    from_us,
    opt_from_us,
    to_us,
)
from .rows import (
    EVENT_COLUMNS,
    EXEC_COLUMNS,
    EXEC_SET_COLUMNS,
    SUMMARY_COLUMNS,
    event_from_row,
    exec_from_row,
    exec_values,
    op_from_row,
    summary_from_row,
)

ALL_EXECUTION_COLUMNS = tuple(range(len(EXEC_SET_COLUMNS)))


class Dialect:
    """The shared queries, written for one backend.

    Args:
        mark: the placeholder (`?` or `%s`).
        true: the literal of an always-true filter.
        contains: the test that `name` contains the bound text.
        op_select: the operation columns as read from `operations o`.
        select_events: the read of events (alias `e`) up to `WHERE e.execution_key = ? AND `.
    """

    def __init__(self, mark: str, *, true: str, contains: str, op_select: str, select_events: str) -> None:
        self._mark = mark
        p = self.mark
        self.true = true
        self.contains = p(contains)
        self.select_execution = p(f"SELECT {EXEC_COLUMNS} FROM executions WHERE arn = ?")
        self.find_execution = p(f"SELECT {EXEC_COLUMNS} FROM executions WHERE function_name = ? AND name = ?")
        self.executions_page = p(
            f"SELECT {EXEC_COLUMNS} FROM executions WHERE {{}} ORDER BY key {{}} LIMIT ?"
        )
        self.filters = {
            key: p(sql)
            for key, sql in (
                ("function_name", "function_name = ?"),
                ("name", "name = ?"),
                ("started_after", "start_us >= ?"),
                ("started_before", "start_us <= ?"),
                ("before_key", "key < ?"),
                ("after_key", "key > ?"),
            )
        }
        self.executions_to_invoke = p(
            "SELECT arn FROM executions WHERE needs_invocation = 1 AND status = 'RUNNING'"
            " AND request_id IS NULL AND (invoke_after_us IS NULL OR invoke_after_us <= ?){}"
            " ORDER BY key LIMIT ?"
        )
        self.next_invoke_after = (
            "SELECT MIN(invoke_after_us) FROM executions WHERE needs_invocation = 1"
            " AND status = 'RUNNING' AND request_id IS NULL"
        )
        self.open_invocations = (
            f"SELECT {EXEC_COLUMNS} FROM executions WHERE request_id IS NOT NULL ORDER BY key"
        )
        self.function_names = "SELECT DISTINCT function_name FROM executions ORDER BY function_name"
        self.child_executions = p(f"SELECT {EXEC_COLUMNS} FROM executions WHERE parent_arn = ? ORDER BY key")
        self.log_change = p(
            "INSERT INTO operation_changes (execution_key, operation_id, change_seq) VALUES (?, ?, ?)"
            " ON CONFLICT (execution_key, operation_id) DO UPDATE SET change_seq = excluded.change_seq"
        )
        self.select_changed = p(
            f"SELECT c.change_seq, {op_select}"
            " FROM operation_changes c JOIN operations o"
            " ON o.execution_key = c.execution_key AND o.operation_id = c.operation_id"
            " WHERE c.execution_key = ? AND c.change_seq > ? AND c.change_seq <= ? ORDER BY c.change_seq LIMIT ?"
        )
        self.prune_changes = p("DELETE FROM operation_changes WHERE execution_key = ? AND change_seq <= ?")
        self.list_operations = p(
            f"SELECT {op_select} FROM operations o WHERE o.execution_key = ? AND o.seq > ? ORDER BY o.seq LIMIT ?"
        )
        self.summaries = p(
            f"SELECT {SUMMARY_COLUMNS} FROM operations WHERE execution_key = ? AND seq > ? ORDER BY seq LIMIT ?"
        )
        self.events_before = p(f"{select_events}e.event_id < ? ORDER BY e.event_id DESC LIMIT ?")
        self.events_after = p(f"{select_events}e.event_id > ? ORDER BY e.event_id ASC LIMIT ?")
        self.set_timer = p(
            "INSERT INTO timers (execution_key, operation_id, kind, due_us) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (execution_key, operation_id, kind) DO UPDATE SET due_us = excluded.due_us"
        )
        self.delete_timer = p("DELETE FROM timers WHERE execution_key = ? AND operation_id = ? AND kind = ?")
        self.take_timer = p(
            "DELETE FROM timers WHERE execution_key = ? AND operation_id = ? AND kind = ? AND due_us = ?"
        )
        self.delete_timers = p("DELETE FROM timers WHERE execution_key = ?")
        self.due_timers = p(
            "SELECT t.execution_key, e.arn, t.operation_id, t.kind, t.due_us FROM timers t"
            " JOIN executions e ON e.key = t.execution_key WHERE t.due_us <= ?"
            " ORDER BY t.due_us, t.execution_key, t.operation_id, t.kind LIMIT ?"
        )
        self.due_timers_of = p(
            "SELECT operation_id, kind, due_us FROM timers WHERE execution_key = ? AND due_us <= ?"
            " ORDER BY due_us, operation_id, kind"
        )
        self.next_timer = "SELECT MIN(due_us) FROM timers"
        self.next_timer_not_deadline = p("SELECT MIN(due_us) FROM timers WHERE kind != ?")
        self.get_request = p(
            "SELECT digest, response FROM checkpoint_requests WHERE execution_key = ? AND client_token = ?"
        )
        self.forget_responses = p(
            "UPDATE checkpoint_requests SET response = NULL WHERE execution_key = ? AND response IS NOT NULL"
        )
        self.put_request = p(
            "INSERT INTO checkpoint_requests (execution_key, client_token, digest, response) VALUES (?, ?, ?, ?)"
        )
        self.insert_invocation = p(
            "INSERT INTO invocations (request_id, execution_key, start_us) VALUES (?, ?, ?)"
        )
        self.complete_invocation = p("UPDATE invocations SET end_us = ?, error = ? WHERE request_id = ?")
        self._updates: dict[tuple[int, ...], str] = {}

    def mark(self, sql: str) -> str:
        """`sql`, written with `?` placeholders, for this backend."""
        return sql if self._mark == "?" else sql.replace("?", self._mark)

    def update_execution(self, columns: tuple[int, ...]) -> str:
        """The UPDATE of the execution columns at these positions of `EXEC_SET_COLUMNS`."""
        sql = self._updates.get(columns)
        if sql is None:
            if len(self._updates) >= 256:  # column sets seen are few; this only bounds them
                self._updates.clear()
            sets = ", ".join(f"{EXEC_SET_COLUMNS[i]} = ?" for i in columns)
            sql = self._updates[columns] = self.mark(f"UPDATE executions SET {sets} WHERE key = ?")
        return sql

    def in_functions(self, count: int) -> str:
        """The test that `function_name` is one of the bound names (SQLite: `count` of them)."""
        return self.mark(f" AND function_name IN ({', '.join('?' * count)})")

    def in_statuses(self, count: int) -> str:
        """The test that `status` is one of the bound statuses (SQLite: `count` of them)."""
        return self.mark(f"status IN ({', '.join('?' * count)})")


class SqlTx:
    """The `StoreTx` methods whose SQL both backends write the same way (over `_c`, a DB-API
    connection inside an open transaction; `_q`, the backend's `Dialect`)."""

    _q: ClassVar[Dialect]
    _c: Any
    _stored: dict[int, Sequence[Any]]
    """Execution columns as this transaction last read or wrote them, by key: an update
    writes only the columns that changed, so the indexes over the others (ARN, name,
    start time, open invocation) are not rewritten by every checkpoint."""

    def _statuses(self, statuses: Sequence[Any]) -> tuple[str, list[Any]]:
        """The status filter of `list_executions` and its arguments."""
        return self._q.in_statuses(len(statuses)), [s.value for s in statuses]

    # ---------------------------------------------------------------- executions
    def get_execution(self, arn: str, *, skip_locked: bool = False) -> ExecutionRecord | None:
        row = self._c.execute(self._q.select_execution, (arn,)).fetchone()
        if row is None:
            return None
        self._stored[row[0]] = row[1:]
        return exec_from_row(row)

    def peek_execution(self, arn: str) -> ExecutionRecord | None:
        return self.get_execution(arn)

    def find_execution(self, function_name: str, name: str) -> ExecutionRecord | None:
        row = self._c.execute(self._q.find_execution, (function_name, name)).fetchone()
        return None if row is None else exec_from_row(row)

    def update_execution(self, record: ExecutionRecord) -> None:
        values = exec_values(record)
        stored = self._stored.get(record.key)
        if stored is None:
            columns = ALL_EXECUTION_COLUMNS
        else:
            columns = tuple(compress(ALL_EXECUTION_COLUMNS, map(ne, values, stored)))
            if not columns:
                return
        self._c.execute(self._q.update_execution(columns), (*(values[i] for i in columns), record.key))
        self._stored[record.key] = values

    def list_executions(self, query: ExecutionQuery) -> list[ExecutionRecord]:
        q = self._q
        where = [q.true]
        args: list[Any] = []
        if query.function_name is not None:
            where.append(q.filters["function_name"])
            args.append(query.function_name)
        if query.name is not None:
            where.append(q.filters["name"])
            args.append(query.name)
        if query.name_contains:
            where.append(q.contains)
            args.append(query.name_contains)
        if query.statuses:
            sql, values = self._statuses(query.statuses)
            where.append(sql)
            args.extend(values)
        if query.started_after is not None:
            where.append(q.filters["started_after"])
            args.append(to_us(query.started_after))
        if query.started_before is not None:
            where.append(q.filters["started_before"])
            args.append(to_us(query.started_before))
        if query.after_key is not None:
            where.append(q.filters["before_key" if query.reverse else "after_key"])
            args.append(query.after_key)
        sql = q.executions_page.format(" AND ".join(where), "DESC" if query.reverse else "ASC")
        return [exec_from_row(r) for r in self._c.execute(sql, (*args, query.limit)).fetchall()]

    def _functions(self, names: Collection[str]) -> tuple[str, list[Any]]:
        """The function filter of `executions_to_invoke` and its arguments."""
        return self._q.in_functions(len(names)), list(names)

    def executions_to_invoke(
        self, now: datetime, limit: int, functions: Collection[str] | None = None
    ) -> list[str]:
        where, args = ("", []) if functions is None else self._functions(functions)
        sql = self._q.executions_to_invoke.format(where)
        rows = self._c.execute(sql, (to_us(now), *args, limit)).fetchall()
        return [r[0] for r in rows]

    def next_invoke_after(self) -> datetime | None:
        return opt_from_us(self._c.execute(self._q.next_invoke_after).fetchone()[0])

    def executions_with_open_invocation(self) -> list[ExecutionRecord]:
        return [exec_from_row(r) for r in self._c.execute(self._q.open_invocations).fetchall()]

    def function_names(self) -> list[str]:
        return [str(r[0]) for r in self._c.execute(self._q.function_names).fetchall()]

    def child_executions(self, parent_arn: str) -> list[ExecutionRecord]:
        rows = self._c.execute(self._q.child_executions, (parent_arn,)).fetchall()
        return [exec_from_row(r) for r in rows]

    # -------------------------------------------------------------------- leases
    def claim_lease(self, execution_key: int, request_id: str) -> None:
        """One process runs a file's invocations: nothing to claim."""

    def holds_lease(self, execution_key: int, request_id: str) -> bool | None:
        return None

    # ---------------------------------------------------------------- operations
    def log_change(self, execution_key: int, operation_id: str, change: int) -> None:
        self._c.execute(self._q.log_change, (execution_key, operation_id, change))

    def operations_changed(
        self, execution_key: int, after_change: int, upto_change: int, limit: int
    ) -> list[tuple[int, Operation]]:
        rows = self._c.execute(self._q.select_changed, (execution_key, after_change, upto_change, limit))
        return [(r[0], op_from_row(r[1:])) for r in rows.fetchall()]

    def prune_changes(self, execution_key: int, upto_change: int) -> None:
        self._c.execute(self._q.prune_changes, (execution_key, upto_change))

    def list_operations(self, execution_key: int, after_seq: int, limit: int) -> list[tuple[int, Operation]]:
        rows = self._c.execute(self._q.list_operations, (execution_key, after_seq, limit)).fetchall()
        return [(r[0], op_from_row(r)) for r in rows]

    def operation_summaries(
        self, execution_key: int, after_seq: int, limit: int
    ) -> list[tuple[int, OperationSummary]]:
        rows = self._c.execute(self._q.summaries, (execution_key, after_seq, limit)).fetchall()
        return [summary_from_row(r) for r in rows]

    # ------------------------------------------------------------------- history
    def list_events(
        self, execution_key: int, after_event_id: int | None, limit: int, reverse: bool
    ) -> list[Event]:
        if reverse:
            bound, sql = (after_event_id if after_event_id is not None else 2**62), self._q.events_before
        else:
            bound, sql = (after_event_id if after_event_id is not None else 0), self._q.events_after
        return [event_from_row(r) for r in self._c.execute(sql, (execution_key, bound, limit)).fetchall()]

    # -------------------------------------------------------------------- timers
    def set_timer(self, execution_key: int, operation_id: str, kind: TimerKind, due: datetime) -> None:
        self._c.execute(self._q.set_timer, (execution_key, operation_id, kind.value, to_us(due)))

    def delete_timer(self, execution_key: int, operation_id: str, kind: TimerKind) -> None:
        self._c.execute(self._q.delete_timer, (execution_key, operation_id, kind.value))

    def take_timer(self, timer: Timer) -> bool:
        args = (timer.execution_key, timer.operation_id, timer.kind.value, to_us(timer.due))
        return bool(self._c.execute(self._q.take_timer, args).rowcount == 1)

    def delete_timers(self, execution_key: int) -> None:
        self._c.execute(self._q.delete_timers, (execution_key,))

    def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        rows = self._c.execute(self._q.due_timers, (to_us(now), limit)).fetchall()
        return [Timer(r[0], r[1], r[2], TimerKind(r[3]), from_us(r[4])) for r in rows]

    def due_timers_of(self, execution_key: int, arn: str, now: datetime) -> list[Timer]:
        rows = self._c.execute(self._q.due_timers_of, (execution_key, to_us(now))).fetchall()
        return [Timer(execution_key, arn, r[0], TimerKind(r[1]), from_us(r[2])) for r in rows]

    def next_timer_due(self, *, deadlines: bool = True) -> datetime | None:
        if deadlines:
            return opt_from_us(self._c.execute(self._q.next_timer).fetchone()[0])
        row = self._c.execute(
            self._q.next_timer_not_deadline, (TimerKind.EXECUTION_TIMEOUT.value,)
        ).fetchone()
        return opt_from_us(row[0])

    # ------------------------------------------------------------ idempotency
    def get_checkpoint_request(self, execution_key: int, client_token: str) -> tuple[str, str | None] | None:
        row = self._c.execute(self._q.get_request, (execution_key, client_token)).fetchone()
        return None if row is None else (row[0], row[1])

    def put_checkpoint_request(
        self, execution_key: int, client_token: str, digest: str, response: str
    ) -> None:
        self._c.execute(self._q.forget_responses, (execution_key,))
        self._c.execute(self._q.put_request, (execution_key, client_token, digest, response))

    # --------------------------------------------------------------- invocations
    def insert_invocation(self, execution_key: int, request_id: str, start: datetime) -> None:
        self._c.execute(self._q.insert_invocation, (request_id, execution_key, to_us(start)))

    def complete_invocation(self, request_id: str, end: datetime, error: ErrorObject | None) -> None:
        self._c.execute(self._q.complete_invocation, (to_us(end), error_to_json(error), request_id))


EVENT_SELECT = ", ".join("e." + c for c in EVENT_COLUMNS.split(", "))
"""`EVENT_COLUMNS` as read from `events e`."""
