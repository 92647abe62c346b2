"""The SQLite store on a real file: migrations, pragmas, reopening, corruption, two writers."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from engine.fakes import Child, Step, Wait, sqlite_file_at_version, workflow

from perdure.engine import Engine, MemoryStore, StoreCorruptedError, StoreError, VirtualClock
from perdure.engine.store import DB_ENV_VAR, SqliteStore, default_db_path
from perdure.engine.store.records import TimerKind
from perdure.engine.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from perdure.engine.store.sqlite import _statements
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import (
    EventDetails,
    ExecutionStatus,
    GetDurableExecutionHistoryRequest,
    ListDurableExecutionsByFunctionRequest,
    Operation,
    OperationStatus,
)


def test_migrates_an_empty_file(db_path: Path) -> None:
    store = SqliteStore(db_path)
    assert store.schema_version() == SCHEMA_VERSION
    store.close()
    conn = sqlite3.connect(db_path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"executions", "operations", "events", "invocations", "timers"} <= tables
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"operations_by_seq", "timers_by_due", "executions_by_name"} <= indexes
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    SqliteStore(db_path).close()  # reopening is a no-op migration


def _schema(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """Every table, index and trigger with its SQL, blanks and the quoting of renamed
    tables aside (ALTER TABLE appends a column as `\n, name TYPE`)."""
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    spaced = str.maketrans({'"': " ", ",": " , ", "(": " ( ", ")": " ) "})
    return [(kind, name, " ".join((sql or "").translate(spaced).split())) for kind, name, sql in rows]


def test_a_new_file_gets_exactly_what_the_migrations_build(tmp_path: Path) -> None:
    migrated = sqlite3.connect(tmp_path / "migrated.db")
    for migration in MIGRATIONS:
        for statement in _statements(migration):
            migrated.execute(statement)
    SqliteStore(tmp_path / "new.db").close()
    created = sqlite3.connect(tmp_path / "new.db")
    assert _schema(created) == _schema(migrated), "schema.CURRENT differs from what MIGRATIONS build"
    for table in ("executions", "operations", "events", "timers"):
        columns = f"PRAGMA table_xinfo({table})"
        assert created.execute(columns).fetchall() == migrated.execute(columns).fetchall()
    assert created.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert created.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    created.close()
    migrated.close()


def test_pragmas(db_path: Path) -> None:
    full = SqliteStore(db_path)
    with full.transaction() as tx:
        assert tx._c.execute("PRAGMA synchronous").fetchone()[0] == 2
    full.close()
    normal = SqliteStore(db_path, durability="normal")
    with normal.transaction() as tx:
        assert tx._c.execute("PRAGMA synchronous").fetchone()[0] == 1
        assert tx._c.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    normal.close()


def test_default_path_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_ENV_VAR, raising=False)
    assert default_db_path(tmp_path) == tmp_path / ".perdure" / "perdure.db"
    monkeypatch.setenv(DB_ENV_VAR, str(tmp_path / "x.db"))
    assert default_db_path(tmp_path) == tmp_path / "x.db"
    monkeypatch.chdir(tmp_path)
    engine = Engine.open()
    engine.close()
    assert (tmp_path / "x.db").exists()


def test_a_corrupted_file_gives_a_clear_error(db_path: Path) -> None:
    db_path.write_bytes(b"this is not a database" * 500)
    with pytest.raises(StoreCorruptedError) as info:
        Engine.open(db_path)
    assert str(db_path) in str(info.value) and "corrupt" in str(info.value)


def test_a_damaged_perdure_file_gives_a_clear_error(db_path: Path) -> None:
    engine = Engine.open(db_path, skip_time=True)
    engine.register_function("fn", workflow(engine, [Step(f"s{i}") for i in range(200)]))
    engine.drive(engine.start_execution("fn", None))
    engine.close()
    data = bytearray(db_path.read_bytes())
    for offset in range(4096, len(data), 4096):  # trash every page after the header page
        data[offset : offset + 64] = b"\xff" * 64
    db_path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as info:
        reopened = Engine.open(db_path)
        try:  # damage may surface at open or only when the damaged pages are read
            for execution in reopened.service.list_durable_executions_by_function(
                ListDurableExecutionsByFunctionRequest("fn")
            ).durable_executions:
                reopened.history(execution.durable_execution_arn)
        finally:
            reopened.close()
    assert str(db_path) in str(info.value)


def test_another_sqlite_database_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE mine (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreCorruptedError, match="not a perdure one"):
        SqliteStore(db_path)


def test_a_newer_schema_is_refused(db_path: Path) -> None:
    SqliteStore(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this perdure"):
        SqliteStore(db_path)


def test_everything_survives_reopening(db_path: Path) -> None:
    engine = Engine.open(db_path, skip_time=True)
    ops: list[Step | Wait | Child] = [Step("a"), Wait("w", 30), Child("c", [Step("b", fail_times=2)])]
    engine.register_function("fn", workflow(engine, ops))
    arn = engine.start_execution("fn", '{"x": 1}', "keep")
    engine.run_until_idle()  # parked on the wait
    before = engine.history(arn)
    due = engine.next_due_time()
    engine.close()

    engine = Engine.open(db_path, skip_time=True)
    engine.register_function("fn", workflow(engine, ops))
    assert engine.history(arn) == before
    assert engine.next_due_time() == due
    assert engine.start_execution("fn", '{"x": 1}', "keep") == arn
    assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED
    engine.close()


def test_a_version_4_file_keeps_its_operations_and_events(db_path: Path) -> None:
    # Version 5 rebuilt `operations` and `events` as rowid tables (a copying migration);
    # version 6 let events keep their result by reference.
    conn = sqlite_file_at_version(db_path, 4)
    conn.execute(
        "INSERT INTO executions (arn, execution_id, function_name, function_arn, name, status, start_us,"
        " execution_timeout, next_event_id, operation_count, needs_invocation, failed_invocations,"
        " invocation_count, updated_operation_ids) VALUES"
        " ('arn:x', 'exec', 'fn', 'arn:fn', 'x', 'RUNNING', 0, 60, 3, 2, 0, 0, 1, '')"
    )
    for seq, op_id in ((2, "b" * 64), (1, "a" * 64)):
        conn.execute(
            "INSERT INTO operations (execution_key, operation_id, seq, type, status, start_us, result)"
            " VALUES (1, ?, ?, 'STEP', 'SUCCEEDED', 0, ?)",
            (op_id, seq, f'"{op_id[0] * 300}"'),
        )
    for event_id, op_id in ((2, "b" * 64), (1, "a" * 64)):
        details = json.dumps({"Result": {"Payload": f'"{op_id[0] * 300}"', "Truncated": False}})
        conn.execute(
            "INSERT INTO events (execution_key, event_id, event_type, timestamp_us, operation_id, details)"
            " VALUES (1, ?, 'StepSucceeded', 0, ?, ?)",
            (event_id, op_id, details),
        )
    conn.commit()
    conn.close()

    store = SqliteStore(db_path)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        with store.transaction() as tx:
            assert [op.id for _, op in tx.list_operations(1, 0, 10)] == ["a" * 64, "b" * 64]
            assert tx.get_operations(1, ["b" * 64])["b" * 64].step_details.result == f'"{"b" * 300}"'  # type: ignore[union-attr]
            events = tx.list_events(1, None, 10, reverse=False)
        assert [(e.event_id, e.id) for e in events] == [(1, "a" * 64), (2, "b" * 64)]
        assert events[1].details.result is not None
        assert events[1].details.result.payload == f'"{"b" * 300}"'
    finally:
        store.close()


def test_a_large_result_is_stored_once_and_read_back_in_its_event(db_path: Path) -> None:
    big = json.dumps("x" * 5000)
    ops: list[Step | Wait | Child] = [Step("a", result=big), Child("c", [Step("b", result=big)], result=big)]

    def run(engine: Engine) -> list[tuple[str, EventDetails]]:
        engine.register_function("fn", workflow(engine, ops, result=big))
        arn = engine.drive(engine.start_execution("fn", None, "big")).durable_execution_arn
        history = [(e.event_type.value, e.details) for e in engine.history(arn)]
        engine.close()
        return [(kind, details) for kind, details in history if kind != "InvocationCompleted"]

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    history = run(Engine(SqliteStore(db_path), VirtualClock(t0)))
    assert history == run(Engine(MemoryStore(), VirtualClock(t0)))
    kinds = ("StepSucceeded", "ContextSucceeded", "ExecutionSucceeded")
    with_big = [kind for kind, details in history if details.result and details.result.payload == big]
    assert with_big == ["StepSucceeded", "StepSucceeded", "ContextSucceeded", "ExecutionSucceeded"]
    conn = sqlite3.connect(db_path)
    stored = conn.execute(
        "SELECT event_type, details, result_ref FROM events WHERE event_type IN (?, ?, ?)", kinds
    )
    rows = stored.fetchall()
    conn.close()
    assert [ref for _, _, ref in rows] == [1, 1, 1, 2]  # kept by the operation (1) or the execution (2)
    assert all("xxxxx" not in details for _, details, _ in rows)


def test_sqlite_and_memory_record_the_same_history(db_path: Path) -> None:
    def run(engine: Engine) -> list[object]:
        ops: list[Step | Wait | Child] = [
            Step("a"),
            Wait("w", 5),
            Child("c", [Step("b", fail_times=1), Wait("cw", 2)]),
        ]
        engine.register_function("fn", workflow(engine, ops))
        arn = engine.drive(engine.start_execution("fn", '"in"', "same")).durable_execution_arn
        exec_id = arn.rsplit("/", 1)[1]
        history = [
            (e.event_id, e.event_type, "EXEC" if e.id == exec_id else e.id, e.name, e.sub_type, e.parent_id)
            for e in engine.history(arn)
        ]
        details = [e.details for e in engine.history(arn) if e.event_type.value != "InvocationCompleted"]
        engine.close()
        return [*history, *details]

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert run(Engine(SqliteStore(db_path), VirtualClock(t0))) == run(Engine(MemoryStore(), VirtualClock(t0)))


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_function_names_are_those_with_executions(db_path: Path, kind: str) -> None:
    engine = Engine(SqliteStore(db_path) if kind == "sqlite" else MemoryStore(), VirtualClock())
    assert engine.function_names() == []
    for name in ("orders", "billing", "idle"):
        engine.register_function(name, workflow(engine, [Step("a")]))
    for name in ("orders", "billing", "orders"):
        engine.start_execution(name, '"in"')
    assert engine.function_names() == ["billing", "orders"]
    engine.close()


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
@pytest.mark.parametrize("marker", ["9223372036854775808", "1" * 40, "-1", " 5", "\uff11", "1_0"])
def test_a_marker_the_service_never_issued_is_refused_not_overflowed(
    db_path: Path, kind: str, marker: str
) -> None:
    engine = Engine(SqliteStore(db_path) if kind == "sqlite" else MemoryStore(), VirtualClock())
    engine.register_function("orders", workflow(engine, [Step("a")]))
    arn = engine.start_execution("orders", '"in"')
    try:
        with pytest.raises(InvalidParameterValueError, match="is not a marker this service returned"):
            engine.service.get_durable_execution_history(
                GetDurableExecutionHistoryRequest(arn, marker=marker)
            )
        with pytest.raises(InvalidParameterValueError, match="is not a marker this service returned"):
            engine.service.list_durable_executions_by_function(
                ListDurableExecutionsByFunctionRequest("orders", marker=marker)
            )
        largest = engine.service.get_durable_execution_history(
            GetDurableExecutionHistoryRequest(arn, marker=str(2**63 - 1))
        )
        assert largest.events == ()
    finally:
        engine.close()


def test_two_stores_on_one_file(db_path: Path) -> None:
    a = Engine.open(db_path, skip_time=True)
    b = Engine.open(db_path, skip_time=True)
    for engine in (a, b):
        engine.register_function("fn", workflow(engine, [Step(f"s{i}") for i in range(20)]))
    arns: dict[str, list[str]] = {"a": [], "b": []}

    def work(name: str, engine: Engine) -> None:
        for i in range(5):
            arn = engine.start_execution("fn", None, f"{name}{i}")
            engine.drive(arn)
            arns[name].append(arn)

    threads = [threading.Thread(target=work, args=(n, e)) for n, e in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for arn in arns["a"] + arns["b"]:
        assert a.get_execution(arn).status is ExecutionStatus.SUCCEEDED
        assert len(b.history(arn)) == 1 + 40 + 2
    a.close()
    b.close()


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_get_operations_reads_many_ids_at_once(db_path: Path, kind: str) -> None:
    engine = Engine(SqliteStore(db_path) if kind == "sqlite" else MemoryStore(), VirtualClock())
    engine.register_function("fn", workflow(engine, [Step(f"s{i}") for i in range(3)]))
    arn = engine.drive(engine.start_execution("fn", '"in"')).durable_execution_arn
    with engine.store.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        ops = [op for _, op in tx.list_operations(rec.key, 0, 100)]
        assert len(ops) >= 3
        # Unknown ids are left out; more ids than one IN (...) read takes are read in chunks.
        wanted = [f"missing{i}" for i in range(1200)] + [op.id for op in ops]
        found = tx.get_operations(rec.key, wanted)
        assert found == {op.id: tx.get_operation(rec.key, op.id) for op in ops}
        assert tx.get_operations(rec.key, []) == {}
        assert tx.get_operations(rec.key, [ops[0].id]) == {ops[0].id: ops[0]}
    engine.close()


def test_a_large_result_lives_outside_its_row_and_a_replaced_one_is_freed(db_path: Path) -> None:
    # A step retried with a large payload (wait_for_condition's state), then succeeded.
    engine = Engine(SqliteStore(db_path), VirtualClock())
    engine.register_function("fn", workflow(engine, [Step("s0")]))
    arn = engine.drive(engine.start_execution("fn", '"in"')).durable_execution_arn
    store = engine.store
    with store.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        (_, step), *_ = [(seq, op) for seq, op in tx.list_operations(rec.key, 0, 10) if op.id == "s0"]
        assert step.step_details is not None
        for payload in ("a" * 5000, "b" * 6000):
            details = replace(step.step_details, result=payload)
            tx.put_operations(
                rec.key, [(0, replace(step, status=OperationStatus.PENDING, step_details=details))]
            )
            assert tx.get_operation(rec.key, "s0").step_details.result == payload  # type: ignore[union-attr]
        kept = tx._c.execute("SELECT count(*), max(length(result)) FROM operation_results").fetchone()
        assert kept == (1, 6000), "the replaced result must be freed"
        assert tx._c.execute("SELECT result FROM operations WHERE operation_id = 's0'").fetchone() == (None,)
        small = replace(step.step_details, result='"done"')
        tx.put_operations(rec.key, [(0, replace(step, step_details=small))])
        assert tx.get_operation(rec.key, "s0").step_details.result == '"done"'  # type: ignore[union-attr]
        assert tx._c.execute("SELECT count(*) FROM operation_results").fetchone() == (0,)
    engine.close()


def test_cached_operations_follow_other_connections_and_rollbacks(db_path: Path) -> None:
    # Each store keeps the operations it read or committed; a checkpoint reads them from
    # there. They must still be what the file holds after another connection wrote, and a
    # transaction that rolled back must leave nothing of its writes behind.
    engine = Engine(SqliteStore(db_path), VirtualClock())
    engine.register_function("fn", workflow(engine, [Step("s0")]))
    arn = engine.drive(engine.start_execution("fn", '"in"')).durable_execution_arn
    a, b = engine.store, SqliteStore(db_path)

    def read(store: SqliteStore) -> Operation:
        with store.transaction() as tx:
            rec = tx.get_execution(arn)
            assert rec is not None
            op = tx.get_operation(rec.key, "s0")
            assert op is not None
            return op

    def write(store: SqliteStore, result: str) -> None:
        with store.transaction() as tx:
            rec = tx.get_execution(arn)
            assert rec is not None
            op = tx.get_operation(rec.key, "s0")
            assert op is not None and op.step_details is not None
            tx.put_operations(
                rec.key, [(0, replace(op, step_details=replace(op.step_details, result=result)))]
            )

    def result(store: SqliteStore) -> str | None:
        details = read(store).step_details
        assert details is not None
        return details.result

    assert result(a) == result(b)  # both have it cached now
    write(b, '"from b"')
    assert result(a) == '"from b"'
    write(a, '"from a"')
    assert result(b) == '"from a"'
    with pytest.raises(RuntimeError), a.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        op = tx.get_operation(rec.key, "s0")
        assert op is not None and op.step_details is not None
        tx.put_operations(rec.key, [(0, replace(op, step_details=replace(op.step_details, result='"lost"')))])
        raise RuntimeError("the transaction rolls back")
    assert result(a) == result(b) == '"from a"'
    large = json.dumps("x" * 5000)
    write(a, large)
    assert result(a) == result(b) == large
    # `a` created the execution, so it knows every id it has; an operation another
    # connection adds is still found.
    added = replace(read(b), id="added")
    with b.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        tx.put_operations(rec.key, [(99, added)])
    with a.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        assert tx.get_operations(rec.key, ["added", "never"]).keys() == {"added"}
    b.close()
    engine.close()


def test_cached_executions_and_timer_bounds_follow_other_connections_and_rollbacks(db_path: Path) -> None:
    # A checkpoint reads its execution's row and its due timers from the store's cache of
    # committed state: what another connection committed is seen, what a rolled-back
    # transaction wrote is not, and a timer set (here or elsewhere) is due when it is due.
    engine = Engine(SqliteStore(db_path), VirtualClock())
    engine.register_function("fn", workflow(engine, [Step("s0")]))
    arn = engine.start_execution("fn", '"in"')
    a, b = engine.store, SqliteStore(db_path)
    now = engine.clock.now()

    def count(store: SqliteStore) -> int:
        with store.transaction() as tx:
            rec = tx.get_execution(arn)
            assert rec is not None
            return rec.failed_invocations

    def bump(store: SqliteStore, by: int) -> None:
        with store.transaction() as tx:
            rec = tx.get_execution(arn)
            assert rec is not None
            rec.failed_invocations += by
            tx.update_execution(rec)

    def due(store: SqliteStore, at: datetime) -> list[str]:
        with store.transaction() as tx:
            rec = tx.get_execution(arn)
            assert rec is not None
            return [t.operation_id for t in tx.due_timers_of(rec.key, arn, at)]

    def arm(store: SqliteStore, operation_id: str, at: datetime) -> None:
        with store.transaction() as tx:
            rec = tx.get_execution(arn)
            assert rec is not None
            tx.set_timer(rec.key, operation_id, TimerKind.WAIT, at)

    assert count(a) == count(b) == 0  # both have the row cached now
    bump(b, 1)
    assert count(a) == 1
    bump(a, 2)
    assert count(b) == 3
    with pytest.raises(RuntimeError), a.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        rec.failed_invocations = 99
        tx.update_execution(rec)
        raise RuntimeError("the transaction rolls back")
    assert count(a) == count(b) == 3

    assert due(a, now) == due(b, now) == []  # both know no timer is due before the deadline
    arm(b, "from-b", now - timedelta(seconds=1))
    assert due(a, now) == ["from-b"]
    with pytest.raises(RuntimeError), a.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        tx.set_timer(rec.key, "lost", TimerKind.WAIT, now - timedelta(seconds=2))
        raise RuntimeError("the transaction rolls back")
    assert due(a, now) == ["from-b"]
    with a.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        tx.delete_timer(rec.key, "from-b", TimerKind.WAIT)
    assert due(a, now) == []
    arm(a, "later", now + timedelta(seconds=10))
    assert due(a, now) == []
    assert due(a, now + timedelta(seconds=10)) == ["later"]
    arm(a, "sooner", now + timedelta(seconds=5))
    assert due(a, now + timedelta(seconds=6)) == ["sooner"]
    b.close()
    engine.close()


def test_a_record_read_or_written_is_the_callers_own(db_path: Path) -> None:
    # The store keeps the records it wrote to serve the next read: changing a record after
    # its update, or one read, without writing it changes nothing stored.
    store = SqliteStore(db_path)
    engine = Engine(store, VirtualClock())
    engine.register_function("fn", workflow(engine, [Step("s0")]))
    arn = engine.start_execution("fn", '"in"')
    with store.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        name = rec.name
        rec.failed_invocations = 1
        tx.update_execution(rec)
        rec.failed_invocations = 2  # after its update, in the same transaction
        again = tx.get_execution(arn)
        assert again is not None and again.failed_invocations == 1
        again.name = "changed, never written"
    assert rec.failed_invocations == 2
    for _ in range(2):
        with store.transaction() as tx:
            read = tx.get_execution(arn)
            assert read is not None
            assert (read.failed_invocations, read.name) == (1, name)
            read.failed_invocations = 7  # read, changed, not written
    engine.close()
    reopened = SqliteStore(db_path)
    with reopened.transaction() as tx:
        stored = tx.get_execution(arn)
    reopened.close()
    assert stored is not None and (stored.failed_invocations, stored.name) == (1, name)
