"""`SqliteStore`: the durable store, one SQLite file in WAL mode.

Durability: `synchronous=FULL` by default, so an acknowledged checkpoint survives a power
loss. `Durability.NORMAL` (synchronous=NORMAL) still survives a killed process, but a power
loss or OS crash may lose the last acknowledged checkpoints; it is ~50x faster per commit.

One connection per store, shared by threads under a lock (the SDK's checkpoint thread and
the scheduler both write). Writers take `BEGIN IMMEDIATE`, so two stores (or processes)
on one file serialise on SQLite's write lock; the busy timeout makes the loser wait
instead of failing. Every sqlite3 error is translated here into a `StoreError` naming the
file. The queries both SQL stores write the same way are in `sql`; the rest of its SQL is
here. Imports only `perdure.wire`, `perdure.engine.errors` and the standard library.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from perdure.engine.errors import StoreCorruptedError, StoreError
from perdure.wire.types import (
    Event,
    EventResult,
    EventType,
    Operation,
    OperationStatus,
)

from .group import GroupCommit
from .records import (
    ExecutionRecord,
    Timer,
    TimerKind,
    details_to_json,
    to_us,
)
from .rows import EVENT_COLUMNS as _EVENT_COLUMNS
from .rows import EXEC_SET_COLUMNS as _EXEC_SET_COLUMNS
from .rows import OP_COLUMNS as _OP_COLUMNS
from .rows import exec_from_row as _exec_from_row
from .rows import exec_values as _exec_values
from .rows import op_from_row as _op_from_row
from .rows import op_values as _op_values
from .schema import APPLICATION_ID, CURRENT, MIGRATIONS, SCHEMA_VERSION
from .sql import EVENT_SELECT, Dialect, SqlTx

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
_INSERT_EXECUTION = f"INSERT INTO executions ({', '.join(_EXEC_SET_COLUMNS)}) VALUES ({', '.join('?' * len(_EXEC_SET_COLUMNS))})"

_SPILL_LENGTH = 1024
"""Results of this many characters or more are kept in `operation_results` (schema 7)."""
_RESULT = "COALESCE(o.result, (SELECT r.result FROM operation_results r WHERE r.rowid = o.result_row))"
"""An operation's result, kept in its row or in `operation_results`."""
_OP_SELECT = ", ".join(_RESULT if c == "result" else f"o.{c}" for c in _OP_COLUMNS.split(", "))
"""`_OP_COLUMNS` as read from `operations o` (the result wherever it is kept)."""
_SELECT_OPERATION = f"SELECT {_OP_SELECT} FROM operations o WHERE o.execution_key = ? AND o.operation_id = ?"
_IN_CHUNK = 512
"""Ids per `WHERE operation_id IN (...)` read (well under SQLite's bound-parameter limit)."""


@functools.lru_cache(maxsize=16)
def _select_operations(count: int) -> str:
    """The read of `count` operations by id; `count` is a power of two, so a handful of SQL
    texts serve every request size and stay in sqlite3's prepared-statement cache."""
    marks = ", ".join("?" * count)
    return f"SELECT {_OP_SELECT} FROM operations o WHERE o.execution_key = ? AND o.operation_id IN ({marks})"


_OPERATION_UPDATE = (
    " ON CONFLICT (execution_key, operation_id) DO UPDATE SET status = excluded.status,"
    " end_us = excluded.end_us, attempt = excluded.attempt,"
    " next_attempt_us = excluded.next_attempt_us, scheduled_end_us = excluded.scheduled_end_us,"
    " result = excluded.result, error = excluded.error,"
    " replay_children = excluded.replay_children, callback_id = excluded.callback_id,"
    " result_row = excluded.result_row"
)


_NONE = type(None)


def _values(types: tuple[type, ...]) -> str:
    """`VALUES (...)`: a `NULL` literal for each `None` of a row with these types, else a placeholder."""
    return f"VALUES ({', '.join('NULL' if t is _NONE else '?' for t in types)})"


class _Statements(dict[tuple[type, ...], str]):
    """The SQL text for each shape of row (the types of its columns, `None` among them),
    written on first use; a subscript, not a call (at most 128 kept, then anew)."""

    def __init__(self, write: Callable[[tuple[type, ...]], str]) -> None:
        super().__init__()
        self._write = write

    def __missing__(self, types: tuple[type, ...]) -> str:
        if len(self) >= 128:
            self.clear()
        text = self[types] = self._write(types)
        return text


_UPSERT_OPERATION = _Statements(
    lambda types: (
        f"INSERT INTO operations (execution_key, {_OP_COLUMNS}, result_row) {_values(types)}{_OPERATION_UPDATE}"
    )
)
"""The upsert of an operation row (execution key, `_OP_COLUMNS`, result row)."""
_INSERT_EVENT = _Statements(
    lambda types: f"INSERT INTO events (execution_key, {_EVENT_COLUMNS}, result_ref) {_values(types)}"
)
"""The insert of an event row (execution key, `_EVENT_COLUMNS`, result reference)."""


def _write_rows(conn: sqlite3.Cursor, statement: _Statements, rows: Sequence[tuple[Any, ...]]) -> None:
    """Runs `statement` over `rows` in order, each `None` written as a `NULL` literal.

    Python's `sqlite3` looks for an adapter for every parameter that is not an int, float,
    str or bytearray, `None` included (a failed dictionary and two failed attribute
    lookups each); a literal binds nothing. Consecutive rows whose columns have the same
    types share one `executemany`.
    """
    shape: tuple[type, ...] = ()
    batch: list[list[Any]] = []
    for row in rows:
        types = tuple(map(type, row))
        if types != shape:
            if batch:
                conn.executemany(statement[shape], batch)
            shape, batch = types, []
        batch.append([v for v in row if v is not None])
    if batch:
        conn.executemany(statement[shape], batch)


_DIALECT = Dialect(
    "?",
    true="1",
    contains="instr(name, ?) > 0",
    op_select=_OP_SELECT,
    select_events=(
        f"SELECT {EVENT_SELECT}, CASE e.result_ref WHEN 1 THEN {_RESULT} WHEN 2 THEN x.result END"
        " FROM events e"
        " LEFT JOIN operations o ON e.result_ref = 1 AND o.execution_key = e.execution_key"
        " AND o.operation_id = e.operation_id"
        " LEFT JOIN executions x ON e.result_ref = 2 AND x.key = e.execution_key"
        " WHERE e.execution_key = ? AND "
    ),
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
_TEXT_COLUMNS = tuple(1 + _EXEC_SET_COLUMNS.index(c) for c in ("input_payload", "result", "error"))
"""Positions in an execution row (key first) of its payloads: a row with one of
`_SPILL_LENGTH` characters or more is not cached."""
_NO_TIMER = 1 << 62
"""The due time (µs) `_OperationCache.next_due` records for an execution without timers."""
_FIRST_DUE = "SELECT MIN(due_us) FROM timers WHERE execution_key = ?"


def _why_not(path: Path, exc: Exception) -> str:
    """Why the database file `path` could not be opened, in the file system's terms where
    they say more than SQLite's "unable to open database file" or an `OSError`'s errno.
    Probes with `os.path`, which answers False where a check itself is refused."""
    reason = str(getattr(exc, "strerror", None) or exc)
    folder = path.parent
    if not os.path.isdir(folder):
        nearest = next((p for p in (folder, *folder.parents) if os.path.lexists(p)), None)
        if nearest is not None and not os.path.isdir(nearest):
            return f"{nearest} is a file, not a folder"
        return f"its folder {folder} cannot be created: {reason}"
    if os.path.isdir(path):
        return "it is a folder, not a file"
    if not os.access(folder, os.X_OK):
        return f"its folder {folder} cannot be entered (no search permission): {reason}"
    if not os.access(folder, os.W_OK):
        return f"its folder {folder} is not writable (the store writes its -wal and -shm files beside it)"
    if os.path.lexists(path) and not os.access(path, os.R_OK | os.W_OK):
        return "the file is not readable and writable by this user"
    return reason


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
    the ids a checkpoint starts are known to be new without a read. A checkpoint also reads
    its execution's row and the execution's timers that are due: the rows (`executions`)
    and, per execution, a time before which none of its timers is due (`next_due`) are kept
    by the same rules, so the usual checkpoint reads neither table.
    """

    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self.operations: dict[tuple[int, str], Operation] = {}
        self.ids: dict[int, set[str]] = {}
        """Every operation id of each execution this connection created (since the cache
        last started over): an id missing from its set names no operation."""
        self.executions: dict[str, tuple[Any, ...]] = {}
        """Execution rows (`EXEC_COLUMNS`, the key first) by ARN."""
        self.records: dict[str, ExecutionRecord] = {}
        """Each row of `executions` this connection wrote, as the record it wrote it from
        (read instead of decoding the row again: a copy of it, or, for a read before an
        update, the record itself, which then leaves this map; see `_read_execution`)."""
        self.next_due: dict[int, int] = {}
        """Per execution key, a time (µs) no timer of the execution is due before: its
        earliest timer's due time when it was read, lowered by every timer set since."""
        self._data_version: int | None = None

    def check(self, data_version: int) -> None:
        """Forget everything if the file changed under this connection."""
        if data_version != self._data_version:
            self._clear()
            self._data_version = data_version

    def _clear(self) -> None:
        self.operations.clear()
        self.ids.clear()
        self.executions.clear()
        self.records.clear()
        self.next_due.clear()

    def reset(self) -> None:
        """Forget everything (writes it holds were lost with their transaction)."""
        self._clear()
        self._data_version = None

    def commit(self, tx: _SqliteTx) -> None:
        """Take what a transaction that committed created and wrote."""
        for execution_key in tx._created:
            self.ids[execution_key] = set()
        for (execution_key, operation_id), op in tx._written.items():
            ids = self.ids.get(execution_key)
            if ids is not None:
                ids.add(operation_id)
            self.keep(execution_key, op)
        records = tx._records
        for arn, row in tx._rows.items():
            self.keep_execution(row, records[arn])
        next_due = self.next_due
        next_due.update(tx._first_due)
        for execution_key, due in tx._timers_set.items():
            known = next_due.get(execution_key)
            if known is not None and due < known:
                next_due[execution_key] = due

    def keep_execution(self, row: tuple[Any, ...], record: ExecutionRecord | None = None) -> None:
        arn = row[1]
        for i in _TEXT_COLUMNS:
            text = row[i]
            if text is not None and len(text) >= _SPILL_LENGTH:
                self.executions.pop(arn, None)
                self.records.pop(arn, None)
                return
        if len(self.executions) >= self.MAX_ENTRIES:
            self._clear()
        self.executions[arn] = row
        if record is None:
            self.records.pop(arn, None)
        else:
            self.records[arn] = record

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


class _SqliteTx(SqlTx):
    """`StoreTx` over one connection inside an open transaction."""

    _q = _DIALECT

    def __init__(self, conn: sqlite3.Cursor, cache: _OperationCache) -> None:
        self._c = conn
        self._cache = cache
        self._written: dict[tuple[int, str], Operation] = {}
        """Operations this transaction wrote (the cache takes them when it commits)."""
        self._created: list[int] = []
        """Keys of the executions this transaction inserted."""
        self._stored = {}
        self._results: dict[tuple[int, str], str] = {}
        """Large results of the operations this transaction wrote SUCCEEDED (`append_events`)."""
        self._rows: dict[str, tuple[Any, ...]] = {}
        """Execution rows this transaction wrote, by ARN (the cache takes them when it commits)."""
        self._records: dict[str, ExecutionRecord] = {}
        """Copies of the records those rows were written from, by ARN."""
        self._first_due: dict[int, int] = {}
        """Earliest due time of an execution's timers, read by this transaction."""
        self._timers_set: dict[int, int] = {}
        """Earliest due time of the timers this transaction set, per execution."""

    def insert_execution(self, record: ExecutionRecord) -> None:
        values = _exec_values(record)
        cur = self._c.execute(_INSERT_EXECUTION, values)
        assert cur.lastrowid is not None
        record.key = cur.lastrowid
        self._created.append(record.key)
        self._stored[record.key] = values
        self._rows[record.arn] = (record.key, *values)
        self._records[record.arn] = record.copy()

    def get_execution(self, arn: str, *, skip_locked: bool = False) -> ExecutionRecord | None:
        # skip_locked changes nothing here: a SQLite transaction is the only writer
        return self._read_execution(arn, for_update=True)

    def peek_execution(self, arn: str) -> ExecutionRecord | None:
        return self._read_execution(arn, for_update=False)

    def _read_execution(self, arn: str, *, for_update: bool) -> ExecutionRecord | None:
        """The execution as this transaction sees it. A read for an update (a checkpoint's)
        is handed the cache's record itself, which leaves the cache (the cache takes a copy
        back when this transaction writes the execution and commits; a read before that
        decodes the row): a copy fewer per checkpoint. Any other read gets a copy."""
        row = self._rows.get(arn)
        if row is not None:
            self._stored[row[0]] = row[1:]
            return self._records[arn].copy()  # this transaction's copy stays as it wrote it
        cache = self._cache
        row = cache.executions.get(arn)
        if row is None:
            row = self._c.execute(self._q.select_execution, (arn,)).fetchone()
            if row is None:
                return None
            cache.keep_execution(row)
        self._stored[row[0]] = row[1:]
        if for_update:
            record = cache.records.pop(arn, None)
            return _exec_from_row(row) if record is None else record
        record = cache.records.get(arn)
        return _exec_from_row(row) if record is None else record.copy()

    def update_execution(self, record: ExecutionRecord, *, final: bool = False) -> None:
        super().update_execution(record)
        self._rows[record.arn] = (record.key, *self._stored[record.key])
        # The record as written, for the cache: the caller's own when it changes it no more.
        self._records[record.arn] = record if final else record.copy()

    def set_timer(self, execution_key: int, operation_id: str, kind: TimerKind, due: datetime) -> None:
        super().set_timer(execution_key, operation_id, kind, due)
        due_us = to_us(due)
        if due_us < self._timers_set.get(execution_key, _NO_TIMER):
            self._timers_set[execution_key] = due_us

    def due_timers_of(self, execution_key: int, arn: str, now: datetime) -> list[Timer]:
        now_us = to_us(now)
        known = self._first_due.get(execution_key)
        if known is None:
            known = self._cache.next_due.get(execution_key)
        if known is not None and min(known, self._timers_set.get(execution_key, _NO_TIMER)) > now_us:
            return []
        due = super().due_timers_of(execution_key, arn, now)
        if not due:  # every timer is in the future: the earliest is the bound (none fires unseen)
            first = self._c.execute(_FIRST_DUE, (execution_key,)).fetchone()[0]
            self._first_due[execution_key] = _NO_TIMER if first is None else first
        return due

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
        _write_rows(self._c, _UPSERT_OPERATION, rows)

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
        _write_rows(self._c, _INSERT_EVENT, rows)


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
                str(self._path),
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
                cached_statements=256,  # room for an upsert and an insert per shape of NULLs
            )
        except (OSError, sqlite3.Error) as exc:
            raise self._unopenable(exc) from None
        try:
            self._configure()
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
                raise self._unopenable(exc) from None
            raise self._translate(exc, "open") from None
        self._cursor = self._conn.cursor()
        """Every transaction's statements run on this one cursor (under the store's lock):
        `Connection.execute` makes a cursor for each statement, about 6 K instructions a W1 step
        more. Each statement's rows are read before the next statement runs."""

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

    def _unopenable(self, exc: Exception) -> StoreError:
        return StoreError(f"cannot open the perdure database {self._path}: {_why_not(self._path, exc)}")

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
        c = self._cursor
        try:
            c.execute("BEGIN IMMEDIATE")
            # Changes only when another connection (or process) has committed since.
            self._cache.check(c.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error as exc:
            raise self._translate(exc, "begin") from None
        return _SqliteTx(c, self._cache)

    def _member(self) -> _SqliteTx:
        return _SqliteTx(self._cursor, self._cache)

    def _run(self, sql: str) -> None:
        self._cursor.execute(sql)

    def _joined(self, tx: _SqliteTx) -> None:
        self._cache.commit(tx)

    def _lost(self) -> None:
        self._cache.reset()

    def close(self) -> None:
        with self._lock:
            self._finish_open_group()
            try:
                self._conn.close()
            except sqlite3.Error as exc:
                raise self._translate(exc, "close") from None
