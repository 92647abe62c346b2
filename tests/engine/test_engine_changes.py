"""Several processes on one SQLite file: an idle engine loop notices another connection's
commits (PRAGMA data_version) without re-reading the store while idle; schema v2 -> v3
arms ExecutionTimeout timers; ClientToken records survive reopening."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from engine.fakes import PENDING, Recorder, Session, Wait, sqlite_file_at_version, start, workflow
from engine.test_callback import callback_flow, callback_id, success

from perdure.engine import Engine, SqliteStore
from perdure.engine.store import Store, StoreTx, TimerKind
from perdure.engine.store.records import to_us
from perdure.engine.store.schema import MIGRATIONS
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    ExecutionStatus,
    InvocationOutput,
)


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def count_transactions(store: Store) -> list[int]:
    """Wrap `store.transaction` to count calls; returns the one-element counter."""
    counter = [0]
    original: Callable[[], AbstractContextManager[StoreTx]] = store.transaction

    @contextmanager
    def counted() -> Iterator[StoreTx]:
        counter[0] += 1
        with original() as tx:
            yield tx

    store.transaction = counted  # type: ignore[method-assign]
    return counter


def test_a_callback_sent_from_another_connection_wakes_drive(store_url: str | Path) -> None:
    runner = Engine.open(store_url)  # real time
    other = Engine.open(store_url, recover_on_open=False)
    try:
        runner.register_function("fn", callback_flow(runner))
        arn = runner.start_execution("fn", None)
        outcome: list[ExecutionStatus] = []
        thread = threading.Thread(target=lambda: outcome.append(runner.drive(arn).status))
        thread.start()
        eventually(lambda: any(e.event_type.value == "InvocationCompleted" for e in other.history(arn)))
        reads = count_transactions(runner.store)
        settled = reads[0] - 1
        while reads[0] != settled:  # let the loop finish its last look and settle into idling
            settled = reads[0]
            time.sleep(0.2)
        time.sleep(0.3)
        assert reads[0] == settled, "an idle loop reads only the store's external version, never the tables"
        success(other, callback_id(other, arn))
        thread.join(10)
        assert outcome == [ExecutionStatus.SUCCEEDED]
    finally:
        other.close()
        runner.close()


def test_a_serving_engine_runs_an_execution_another_process_started(store_url: str | Path) -> None:
    server = Engine.open(store_url, skip_time=True)
    starter = Engine.open(store_url, skip_time=True, recover_on_open=False)
    try:
        server.register_function("fn", workflow(server, [Wait("w", 30)]))
        server.start()
        time.sleep(0.1)  # idle
        # the starter only starts it (as a second `perdure run` would before driving)
        starter.register_function("fn", Recorder(starter, lambda s: PENDING))
        arn = starter.start_execution("fn", None)
        eventually(lambda: starter.get_execution(arn).status is ExecutionStatus.SUCCEEDED)
    finally:
        starter.close()
        server.close()


def test_schema_2_databases_get_timeout_timers(db_path: Path) -> None:
    conn = sqlite_file_at_version(db_path, 2)
    columns = (
        "arn, execution_id, function_name, function_arn, name, status, start_us, execution_timeout,"
        " next_event_id, operation_count, needs_invocation, failed_invocations, invocation_count,"
        " updated_operation_ids"
    )
    for name, status in (("running", "RUNNING"), ("done", "SUCCEEDED")):
        conn.execute(
            f"INSERT INTO executions ({columns}) VALUES (?, ?, 'fn', 'arn:fn', ?, ?, ?, 60, 2, 0, 0, 0, 1, '')",
            (f"arn:{name}", f"id-{name}", name, status, to_us(time_zero())),
        )
    conn.commit()
    conn.close()
    store = SqliteStore(db_path)
    try:
        assert store.schema_version() == len(MIGRATIONS)
        with store.transaction() as tx:
            due = tx.due_timers(time_zero().replace(year=2100), 10)
        assert [(t.arn, t.kind) for t in due] == [("arn:running", TimerKind.EXECUTION_TIMEOUT)]
        assert (due[0].due - time_zero()).total_seconds() == 60
    finally:
        store.close()


def time_zero() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


def test_a_checkpoint_is_replayed_by_client_token_after_reopening(store_url: str | Path) -> None:
    sent: list[CheckpointDurableExecutionRequest] = []
    answers: list[CheckpointDurableExecutionResponse] = []

    def body(s: Session) -> InvocationOutput:
        request = CheckpointDurableExecutionRequest(s.arn, s.token or "", (start("s1"),), "req-1")
        sent.append(request)
        answers.append(s.engine.service.checkpoint_durable_execution(request))
        return PENDING

    with Engine.open(store_url, skip_time=True) as engine:
        engine.register_function("fn", Recorder(engine, body))
        arn = engine.start_execution("fn", None)
        engine.scheduler.invoke_once(arn)
        history = engine.history(arn)
    with Engine.open(store_url, skip_time=True) as engine:
        assert engine.service.checkpoint_durable_execution(sent[0]) == answers[0]
        assert engine.history(arn) == history
