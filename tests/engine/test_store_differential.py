"""Differential check: random checkpoint requests (valid and invalid), with time passing
between some of them, applied to an engine on SQLite (or on PostgreSQL) and one on
MemoryStore give the same answers (including the operations the service changed since the previous token, which each
response reports once), the same state and the same history."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perdure.engine import Engine, MemoryStore, SqliteStore, Store, VirtualClock, lifecycle, open_store
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    ContextOptions,
    ErrorObject,
    OperationAction,
    OperationType,
    OperationUpdate,
    StepOptions,
    WaitOptions,
)
from tests.postgres import fresh_schema_url, give_back

T0 = datetime(2026, 1, 1, tzinfo=UTC)
IDS = ["a", "b", "ctx", "w"]


@st.composite
def updates(draw: st.DrawFn) -> OperationUpdate:
    op_type = draw(st.sampled_from([OperationType.STEP, OperationType.WAIT, OperationType.CONTEXT]))
    action = draw(st.sampled_from(list(OperationAction)))
    return OperationUpdate(
        id=draw(st.sampled_from(IDS)),
        type=op_type,
        action=action,
        parent_id=draw(st.sampled_from([None, None, "ctx", "a"])),
        name=draw(st.sampled_from([None, "n"])),
        payload=draw(st.sampled_from([None, '"p"'])),
        error=draw(st.sampled_from([None, ErrorObject("m", "E")])),
        step_options=StepOptions(draw(st.sampled_from([0, 1, 5]))) if op_type is OperationType.STEP else None,
        wait_options=WaitOptions(draw(st.sampled_from([0, 2]))) if op_type is OperationType.WAIT else None,
        context_options=ContextOptions(replay_children=False) if op_type is OperationType.CONTEXT else None,
    )


def _open(engine: Engine) -> tuple[str, str]:
    engine.register_function("fn", lambda i, c: None)  # type: ignore[arg-type, return-value]
    arn = engine.start_execution("fn", '"in"', "same")
    with engine.store.transaction() as tx:
        begun = lifecycle.begin_invocation(tx, engine.clock.now(), arn, engine.scheduler.invoker_id)
    assert begun is not None
    return arn, begun.input.checkpoint_token


def _apply(
    engine: Engine, arn: str, token: str, request: list[OperationUpdate]
) -> tuple[tuple[str, object], str]:
    try:
        response = engine.service.checkpoint_durable_execution(
            CheckpointDurableExecutionRequest(arn, token, tuple(request))
        )
    except InvalidParameterValueError as exc:
        return ("rejected", exc.message), token
    assert response.checkpoint_token is not None
    return ("ok", response.new_execution_state.operations), response.checkpoint_token


REQUESTS = st.lists(
    st.tuples(st.sampled_from([0, 0, 1, 3]), st.lists(updates(), min_size=0, max_size=3)),
    min_size=1,
    max_size=8,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(REQUESTS)
def test_sqlite_and_memory_agree(requests: list[tuple[int, list[OperationUpdate]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _agree(SqliteStore(Path(tmp) / "p.db", durability="normal"), requests)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(REQUESTS)
def test_postgres_and_memory_agree(
    pg_database: str, requests: list[tuple[int, list[OperationUpdate]]]
) -> None:
    url = fresh_schema_url(pg_database)
    try:
        _agree(open_store(url, durability="normal"), requests)
    finally:
        give_back(url)


def _agree(store: Store, requests: list[tuple[int, list[OperationUpdate]]]) -> None:
    """Apply `requests` to an engine on `store` and one on memory: every read agrees."""
    disk = Engine(store, VirtualClock(T0))
    memory = Engine(MemoryStore(), VirtualClock(T0))
    try:
        arn_d, token_d = _open(disk)
        arn_m, token_m = _open(memory)
        for seconds, request in requests:
            for engine in (disk, memory):
                assert isinstance(engine.clock, VirtualClock)
                engine.clock.advance(seconds)  # due timers fire at the next checkpoint
            out_d, token_d = _apply(disk, arn_d, token_d, request)
            out_m, token_m = _apply(memory, arn_m, token_m, request)
            assert out_d == out_m
            kind, ops = out_d
            if kind == "ok":
                assert isinstance(ops, tuple)
                assert len({op.id for op in ops}) == len(ops)  # each operation once
        # A refresh reports what is left (a timer a refused request fired and rolled back
        # fires now); a second one has nothing more to report.
        refreshes = []
        for engine, arn, token in ((disk, arn_d, token_d), (memory, arn_m, token_m)):
            for _ in range(2):
                refresh = engine.service.checkpoint_durable_execution(
                    CheckpointDurableExecutionRequest(arn, token, ())
                )
                assert refresh.checkpoint_token is not None
                token = refresh.checkpoint_token
                refreshes.append(refresh.new_execution_state.operations)
        assert refreshes[0] == refreshes[2] and refreshes[1] == refreshes[3] == ()
        exec_d, exec_m = arn_d.rsplit("/", 1)[1], arn_m.rsplit("/", 1)[1]
        history_d = [(e.event_type, e.id if e.id != exec_d else "X", e.details) for e in disk.history(arn_d)]
        history_m = [
            (e.event_type, e.id if e.id != exec_m else "X", e.details) for e in memory.history(arn_m)
        ]
        assert history_d == history_m
        assert disk.next_due_time() == memory.next_due_time()
    finally:
        disk.close()
        memory.close()
