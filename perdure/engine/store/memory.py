"""`MemoryStore`: the `Store` interface over dicts, for unit tests and `--memory` runs.

Transactions are serialised by one lock and made atomic by an undo log: every write
records how to reverse itself, and an exception inside the transaction replays the log
backwards. Records are copied in and out, so a caller's half-changed record never leaks
into the store. Imports only `perdure.wire` and the standard library.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from perdure.wire.types import ErrorObject, Event, ExecutionStatus, Operation

from .records import ExecutionQuery, ExecutionRecord, OperationSummary, Timer, TimerKind

T = TypeVar("T")


@dataclasses.dataclass(slots=True)
class _ExecutionData:
    record: ExecutionRecord
    operations: dict[str, tuple[int, Operation]] = dataclasses.field(default_factory=dict)
    order: list[int] = dataclasses.field(default_factory=list)
    """Sorted operation sequence numbers (for paging)."""
    by_seq: dict[int, str] = dataclasses.field(default_factory=dict)
    changes: dict[str, int] = dataclasses.field(default_factory=dict)
    """The change log: operation id -> the number of its latest service-side change."""
    events: list[Event] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(slots=True)
class _Invocation:
    execution_key: int
    start: datetime
    end: datetime | None = None
    error: ErrorObject | None = None


class _State:
    def __init__(self) -> None:
        self.next_key = 1
        self.by_key: dict[int, _ExecutionData] = {}
        self.by_arn: dict[str, int] = {}
        self.by_name: dict[tuple[str, str], int] = {}
        self.timers: dict[tuple[int, str, TimerKind], datetime] = {}
        self.invocations: dict[str, _Invocation] = {}
        self.checkpoints: dict[tuple[int, str], tuple[str, str | None]] = {}
        """(execution key, ClientToken) -> (request digest, response JSON or None)."""
        self.latest_checkpoint: dict[int, str] = {}
        """Execution key -> the ClientToken whose response is kept (the latest)."""


class _MemoryTx:
    def __init__(self, state: _State) -> None:
        self._s = state
        self.undo: list[Callable[[], None]] = []

    # ---------------------------------------------------------------- executions
    def get_execution(self, arn: str, *, skip_locked: bool = False) -> ExecutionRecord | None:
        key = self._s.by_arn.get(arn)
        return None if key is None else self._s.by_key[key].record.copy()

    def peek_execution(self, arn: str) -> ExecutionRecord | None:
        return self.get_execution(arn)

    def find_execution(self, function_name: str, name: str) -> ExecutionRecord | None:
        key = self._s.by_name.get((function_name, name))
        return None if key is None else self._s.by_key[key].record.copy()

    def insert_execution(self, record: ExecutionRecord) -> None:
        s = self._s
        if record.arn in s.by_arn or (record.function_name, record.name) in s.by_name:
            raise ValueError(f"duplicate execution {record.arn}")
        record.key = s.next_key
        s.next_key += 1
        s.by_key[record.key] = _ExecutionData(record.copy())
        s.by_arn[record.arn] = record.key
        s.by_name[(record.function_name, record.name)] = record.key

        def undo() -> None:
            del s.by_key[record.key]
            del s.by_arn[record.arn]
            del s.by_name[(record.function_name, record.name)]

        self.undo.append(undo)

    def update_execution(self, record: ExecutionRecord, *, final: bool = False) -> None:
        data = self._s.by_key[record.key]
        old = data.record
        data.record = record.copy()
        self.undo.append(lambda: setattr(data, "record", old))

    def list_executions(self, query: ExecutionQuery) -> list[ExecutionRecord]:
        keys = sorted(self._s.by_key, reverse=query.reverse)
        out: list[ExecutionRecord] = []
        for key in keys:
            if query.after_key is not None and (
                key >= query.after_key if query.reverse else key <= query.after_key
            ):
                continue
            r = self._s.by_key[key].record
            if query.function_name is not None and r.function_name != query.function_name:
                continue
            if query.name is not None and r.name != query.name:
                continue
            if query.name_contains and query.name_contains not in r.name:
                continue
            if query.statuses and r.status not in query.statuses:
                continue
            if query.started_after is not None and r.start_timestamp < query.started_after:
                continue
            if query.started_before is not None and r.start_timestamp > query.started_before:
                continue
            out.append(r.copy())
            if len(out) >= query.limit:
                break
        return out

    def _waiting(self) -> Iterator[ExecutionRecord]:
        for data in self._s.by_key.values():
            r = data.record
            if r.needs_invocation and r.status is ExecutionStatus.RUNNING and r.request_id is None:
                yield r

    def executions_to_invoke(
        self, now: datetime, limit: int, functions: Collection[str] | None = None
    ) -> list[str]:
        ready = [
            r.arn
            for r in self._waiting()
            if (r.invoke_after is None or r.invoke_after <= now)
            and (functions is None or r.function_name in functions)
        ]
        return ready[:limit]

    def next_invoke_after(self) -> datetime | None:
        times = [r.invoke_after for r in self._waiting() if r.invoke_after is not None]
        return min(times, default=None)

    def executions_with_open_invocation(self) -> list[ExecutionRecord]:
        return [d.record.copy() for d in self._s.by_key.values() if d.record.request_id is not None]

    def function_names(self) -> list[str]:
        return sorted({d.record.function_name for d in self._s.by_key.values()})

    def child_executions(self, parent_arn: str) -> list[ExecutionRecord]:
        return [d.record.copy() for d in self._s.by_key.values() if d.record.parent_arn == parent_arn]

    # -------------------------------------------------------------------- leases
    def claim_lease(self, execution_key: int, request_id: str) -> None:
        """No other process shares a memory store: nothing to claim."""

    def holds_lease(self, execution_key: int, request_id: str) -> bool | None:
        return None

    # ---------------------------------------------------------------- operations
    def get_operation(self, execution_key: int, operation_id: str) -> Operation | None:
        entry = self._s.by_key[execution_key].operations.get(operation_id)
        return None if entry is None else entry[1]

    def get_operations(self, execution_key: int, operation_ids: Collection[str]) -> dict[str, Operation]:
        operations = self._s.by_key[execution_key].operations
        found: dict[str, Operation] = {}
        for operation_id in operation_ids:
            entry = operations.get(operation_id)
            if entry is not None:
                found[operation_id] = entry[1]
        return found

    def put_operations(self, execution_key: int, operations: Sequence[tuple[int, Operation]]) -> None:
        for seq, operation in operations:
            self._put_operation(execution_key, seq, operation)

    def _put_operation(self, execution_key: int, seq: int, operation: Operation) -> None:
        data = self._s.by_key[execution_key]
        old = data.operations.get(operation.id)
        if old is not None:
            data.operations[operation.id] = (old[0], operation)
            self.undo.append(lambda: data.operations.__setitem__(operation.id, old))
            return
        data.operations[operation.id] = (seq, operation)
        bisect.insort(data.order, seq)
        data.by_seq[seq] = operation.id

        def undo() -> None:
            del data.operations[operation.id]
            data.order.remove(seq)
            del data.by_seq[seq]

        self.undo.append(undo)

    def log_change(self, execution_key: int, operation_id: str, change: int) -> None:
        changes = self._s.by_key[execution_key].changes
        old = dict(changes)
        changes[operation_id] = change
        self.undo.append(lambda: self._restore(changes, old))

    def operations_changed(
        self, execution_key: int, after_change: int, upto_change: int, limit: int
    ) -> list[tuple[int, Operation]]:
        data = self._s.by_key[execution_key]
        changed = sorted((c, i) for i, c in data.changes.items() if after_change < c <= upto_change)
        return [(c, data.operations[i][1]) for c, i in changed[:limit]]

    def prune_changes(self, execution_key: int, upto_change: int) -> None:
        changes = self._s.by_key[execution_key].changes
        if any(c <= upto_change for c in changes.values()):
            old = dict(changes)
            for op_id in [i for i, c in changes.items() if c <= upto_change]:
                del changes[op_id]
            self.undo.append(lambda: self._restore(changes, old))

    @staticmethod
    def _restore(changes: dict[str, int], old: dict[str, int]) -> None:
        changes.clear()
        changes.update(old)

    def list_operations(self, execution_key: int, after_seq: int, limit: int) -> list[tuple[int, Operation]]:
        data = self._s.by_key[execution_key]
        start = bisect.bisect_right(data.order, after_seq)
        return [(seq, data.operations[data.by_seq[seq]][1]) for seq in data.order[start : start + limit]]

    def operation_summaries(
        self, execution_key: int, after_seq: int, limit: int
    ) -> list[tuple[int, OperationSummary]]:
        return [
            (seq, OperationSummary.of(op))
            for seq, op in self.list_operations(execution_key, after_seq, limit)
        ]

    # ------------------------------------------------------------------- history
    def append_events(self, execution_key: int, events: Sequence[Event]) -> None:
        log = self._s.by_key[execution_key].events
        size = len(log)
        log.extend(events)
        self.undo.append(lambda: log.__delitem__(slice(size, None)))

    def list_events(
        self, execution_key: int, after_event_id: int | None, limit: int, reverse: bool
    ) -> list[Event]:
        log = self._s.by_key[execution_key].events  # event ids are 1..n in order
        if reverse:
            end = len(log) if after_event_id is None else max(0, min(len(log), after_event_id - 1))
            return list(reversed(log[max(0, end - limit) : end]))
        start = 0 if after_event_id is None else max(0, after_event_id)
        return log[start : start + limit]

    # -------------------------------------------------------------------- timers
    def _set_timer_raw(self, key: tuple[int, str, TimerKind], due: datetime | None) -> None:
        if due is None:
            self._s.timers.pop(key, None)
        else:
            self._s.timers[key] = due

    def set_timer(self, execution_key: int, operation_id: str, kind: TimerKind, due: datetime) -> None:
        key = (execution_key, operation_id, kind)
        old = self._s.timers.get(key)
        self._set_timer_raw(key, due)
        self.undo.append(lambda: self._set_timer_raw(key, old))

    def delete_timer(self, execution_key: int, operation_id: str, kind: TimerKind) -> None:
        key = (execution_key, operation_id, kind)
        old = self._s.timers.pop(key, None)
        if old is not None:
            self.undo.append(lambda: self._set_timer_raw(key, old))

    def take_timer(self, timer: Timer) -> bool:
        key = (timer.execution_key, timer.operation_id, timer.kind)
        if self._s.timers.get(key) != timer.due:
            return False
        self.delete_timer(*key)
        return True

    def delete_timers(self, execution_key: int) -> None:
        for key in [k for k in self._s.timers if k[0] == execution_key]:
            self.delete_timer(*key)

    def due_timers(self, now: datetime, limit: int) -> list[Timer]:
        due = sorted((d, k) for k, d in self._s.timers.items() if d <= now)[:limit]
        return [Timer(k[0], self._s.by_key[k[0]].record.arn, k[1], k[2], d) for d, k in due]

    def due_timers_of(self, execution_key: int, arn: str, now: datetime) -> list[Timer]:
        due = sorted((d, k) for k, d in self._s.timers.items() if k[0] == execution_key and d <= now)
        return [Timer(execution_key, arn, k[1], k[2], d) for d, k in due]

    def next_timer_due(self, *, deadlines: bool = True) -> datetime | None:
        return min(
            (due for key, due in self._s.timers.items() if deadlines or not key[2].is_deadline), default=None
        )

    # ------------------------------------------------------------ idempotency
    def get_checkpoint_request(self, execution_key: int, client_token: str) -> tuple[str, str | None] | None:
        return self._s.checkpoints.get((execution_key, client_token))

    def put_checkpoint_request(
        self, execution_key: int, client_token: str, digest: str, response: str
    ) -> None:
        table, latest = self._s.checkpoints, self._s.latest_checkpoint
        previous = latest.get(execution_key)
        old = None if previous is None else table[(execution_key, previous)]
        if previous is not None and old is not None:
            table[(execution_key, previous)] = (old[0], None)
        table[(execution_key, client_token)] = (digest, response)
        latest[execution_key] = client_token

        def undo() -> None:
            del table[(execution_key, client_token)]
            if previous is None:
                del latest[execution_key]
            else:
                latest[execution_key] = previous
                if old is not None:
                    table[(execution_key, previous)] = old

        self.undo.append(undo)

    # --------------------------------------------------------------- invocations
    def insert_invocation(self, execution_key: int, request_id: str, start: datetime) -> None:
        invocations = self._s.invocations
        invocations[request_id] = _Invocation(execution_key, start)

        def undo() -> None:
            del invocations[request_id]

        self.undo.append(undo)

    def complete_invocation(self, request_id: str, end: datetime, error: ErrorObject | None) -> None:
        inv = self._s.invocations.get(request_id)
        if inv is None:
            return
        old = dataclasses.replace(inv)
        inv.end, inv.error = end, error
        self.undo.append(lambda: self._s.invocations.__setitem__(request_id, old))


class MemoryStore:
    """An in-memory `Store` (nothing survives the process)."""

    def __init__(self) -> None:
        self._state = _State()
        self._lock = threading.RLock()

    @property
    def location(self) -> str:
        return ":memory:"

    @contextmanager
    def transaction(self) -> Iterator[_MemoryTx]:
        with self._lock:
            tx = _MemoryTx(self._state)
            try:
                yield tx
            except BaseException:
                for undo in reversed(tx.undo):
                    undo()
                raise

    def run(self, body: Callable[[_MemoryTx], T]) -> T:
        """`body` inside one transaction (nothing here conflicts: it runs once)."""
        with self.transaction() as tx:
            return body(tx)

    def external_version(self) -> None:
        return None  # only this object writes to it: every change notifies the scheduler itself

    def close(self) -> None:
        pass
