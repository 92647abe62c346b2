"""Invoking functions: outcomes, errors and crashes retried with backoff, the Lambda context,
the registry, concurrency, and timers on the virtual clock."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from perdure.engine import (
    Engine,
    EngineStalledError,
    FunctionUnreachable,
    InvocationCrashed,
    InvocationRetryPolicy,
    StoreError,
    VirtualClock,
)
from perdure.engine.clock import SystemClock
from perdure.engine.registry import FunctionRegistry, function_name_of
from perdure.engine.store.memory import _MemoryTx
from perdure.wire.codec import to_wire
from perdure.wire.types import ErrorObject, EventType, ExecutionStatus, InvocationOutput, InvocationStatus

from .fakes import PENDING, Recorder, Session, Step, Wait, start, succeed, succeeded, wait_start, workflow


def invocation_errors(engine: Engine, arn: str) -> list[dict[str, object] | None]:
    return [
        to_wire(e)["InvocationCompletedDetails"].get("Error")
        for e in engine.history(arn)
        if e.event_type is EventType.INVOCATION_COMPLETED
    ]


def test_raising_invocations_are_retried_with_backoff_then_fail() -> None:
    engine = Engine.in_memory(invocation_retry=InvocationRetryPolicy(max_attempts=3, initial_delay_seconds=2))
    times: list[datetime] = []

    def body(s: Session) -> InvocationOutput:
        times.append(engine.clock.now())
        raise RuntimeError("handler blew up")

    engine.register_function("fn", Recorder(engine, body))
    arn = engine.start_execution("fn", None)
    execution = engine.drive(arn)
    assert execution.status is ExecutionStatus.FAILED
    assert execution.error is not None and execution.error.error_type == "RuntimeError"
    assert [round((t - times[0]).total_seconds()) for t in times] == [0, 2, 6]
    errors = invocation_errors(engine, arn)
    assert len(errors) == 3 and all(e and e["Payload"]["ErrorType"] == "RuntimeError" for e in errors)  # type: ignore[index]
    engine.close()


def test_a_crash_is_recorded_as_runtime_exit_error_and_the_execution_continues(engine: Engine) -> None:
    calls = []

    def body(s: Session) -> InvocationOutput:
        calls.append(1)
        if len(calls) == 1:
            s.cp(start("s1", name="at_most_once_flaky_step"))
            raise InvocationCrashed(ErrorObject("exit status 1", "Runtime.ExitError"))
        s.cp(succeed("s1", '"ok"', name="at_most_once_flaky_step"))
        return succeeded('"ok"')

    engine.register_function("fn", Recorder(engine, body))
    arn = engine.start_execution("fn", None)
    assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED
    types = [e.event_type.value for e in engine.history(arn)]
    assert types == [
        "ExecutionStarted",
        "StepStarted",
        "InvocationCompleted",
        "StepSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]
    first, second = invocation_errors(engine, arn)
    assert first == {
        "Payload": {"ErrorMessage": "exit status 1", "ErrorType": "Runtime.ExitError"},
        "Truncated": False,
    }
    assert second is None


def test_a_clean_invocation_resets_the_failure_count() -> None:
    engine = Engine.in_memory(invocation_retry=InvocationRetryPolicy(max_attempts=2))
    calls = []

    def body(s: Session) -> InvocationOutput:
        calls.append(1)
        if len(calls) in (1, 3):
            raise RuntimeError("flaky")
        if len(calls) == 2:
            s.cp(wait_start("w", 1))
            return PENDING
        return succeeded()

    engine.register_function("fn", Recorder(engine, body))
    arn = engine.start_execution("fn", None)
    assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED
    assert len(calls) == 4
    engine.close()


def _unreachable() -> FunctionUnreachable:
    return FunctionUnreachable(ErrorObject(error_type="Runtime.Unreachable", error_message="cannot connect"))


def test_a_function_that_cannot_be_reached_is_tried_again_past_max_attempts() -> None:
    # Nothing ran: a function being restarted must not fail the executions that fall due.
    engine = Engine.in_memory(
        invocation_retry=InvocationRetryPolicy(max_attempts=3, max_unreachable_attempts=10)
    )
    times: list[datetime] = []

    def body(s: Session) -> InvocationOutput:
        times.append(engine.clock.now())
        if len(times) <= 6:
            raise _unreachable()
        if len(times) <= 8:  # reached again: a crash starts a count of its own
            raise RuntimeError("warming up")
        return succeeded()

    engine.register_function("fn", Recorder(engine, body))
    arn = engine.start_execution("fn", None)
    assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED
    # The delays grow with the whole run of failures, to the 60 s cap.
    assert [round((t - times[0]).total_seconds()) for t in times] == [0, 1, 3, 7, 15, 31, 63, 123, 183]
    errors = [e["Payload"]["ErrorType"] if e else None for e in invocation_errors(engine, arn)]  # type: ignore[index]
    assert errors == ["Runtime.Unreachable"] * 6 + ["RuntimeError"] * 2 + [None]
    engine.close()


def test_a_function_never_reached_fails_the_execution_after_its_own_budget() -> None:
    engine = Engine.in_memory(
        invocation_retry=InvocationRetryPolicy(max_attempts=2, max_unreachable_attempts=5)
    )
    calls: list[int] = []

    def body(s: Session) -> InvocationOutput:
        calls.append(1)
        raise _unreachable()

    engine.register_function("fn", Recorder(engine, body))
    execution = engine.drive(engine.start_execution("fn", None))
    assert execution.status is ExecutionStatus.FAILED and len(calls) == 5
    assert execution.error is not None and execution.error.error_type == "Runtime.Unreachable"
    engine.close()
    # A policy allowing more crashes than unreachable attempts allows as many of those too.
    assert not InvocationRetryPolicy(max_attempts=4, max_unreachable_attempts=2).gives_up(3, reached=False)


@pytest.mark.parametrize(
    ("pattern", "status", "calls"),
    [
        # A crash, then refused while it restarts: one crash and some refusals spent.
        ("CUUUUUS", ExecutionStatus.SUCCEEDED, 7),
        ("UUCUUS", ExecutionStatus.SUCCEEDED, 6),
        # A crash-and-restart loop ends at its third crash.
        ("CUUCUUCUU", ExecutionStatus.FAILED, 7),
    ],
)
def test_crashes_and_refusals_are_counted_apart(pattern: str, status: ExecutionStatus, calls: int) -> None:
    engine = Engine.in_memory(
        invocation_retry=InvocationRetryPolicy(max_attempts=3, max_unreachable_attempts=50)
    )
    made: list[int] = []

    def body(s: Session) -> InvocationOutput:
        made.append(1)
        kind = pattern[len(made) - 1]
        if kind == "C":
            raise RuntimeError("crashed")
        if kind == "U":
            raise _unreachable()
        return succeeded()

    engine.register_function("fn", Recorder(engine, body))
    execution = engine.drive(engine.start_execution("fn", None))
    assert (execution.status, len(made)) == (status, calls)
    engine.close()


def test_the_delay_stays_at_its_cap_however_long_the_run_of_failures() -> None:
    assert InvocationRetryPolicy().delay(5000) == timedelta(seconds=60)


def test_a_non_output_return_is_an_invocation_error() -> None:
    engine = Engine.in_memory(invocation_retry=InvocationRetryPolicy(max_attempts=1))
    engine.register_function("fn", lambda input, context: {"Status": "SUCCEEDED"})  # type: ignore[arg-type]
    arn = engine.start_execution("fn", None)
    execution = engine.drive(arn)
    assert execution.error is not None and execution.error.error_type == "Runtime.InvalidResponse"
    engine.close()


def test_an_oversized_result_fails_the_execution(engine: Engine) -> None:
    engine.register_function("fn", Recorder(engine, lambda s: succeeded('"' + "x" * (6 * 1024 * 1024) + '"')))
    execution = engine.drive(engine.start_execution("fn", None))
    assert execution.status is ExecutionStatus.FAILED
    assert execution.error is not None and "response limit" in (execution.error.error_message or "")


def test_an_oversized_error_fails_the_execution_with_a_small_one(engine: Engine) -> None:
    huge = ErrorObject(error_message="x" * (6 * 1024 * 1024), error_type="Boom")
    engine.register_function(
        "fn", Recorder(engine, lambda s: InvocationOutput(InvocationStatus.FAILED, error=huge))
    )
    execution = engine.drive(engine.start_execution("fn", None))
    assert execution.status is ExecutionStatus.FAILED and execution.error is not None
    assert execution.error.error_type == "Runtime.ResponseSizeTooLarge"
    assert "response limit" in (execution.error.error_message or "") and "'Boom'" in (
        execution.error.error_message or ""
    )


def test_lambda_context(engine: Engine) -> None:
    recorder = workflow(engine, [])
    engine.register_function("orders", recorder)
    engine.drive(engine.start_execution("orders", None))
    (ctx,) = recorder.contexts
    assert ctx.function_name == "orders" and ctx.function_version == "$LATEST"
    assert ctx.invoked_function_arn == "arn:aws:lambda:us-east-1:000000000000:function:orders:$LATEST"
    assert ctx.aws_request_id and ctx.memory_limit_in_mb == 128
    assert ctx.get_remaining_time_in_millis() == 900_000  # virtual time did not move


def test_registry_resolves_names_arns_and_aliases() -> None:
    registry = FunctionRegistry()
    fn = registry.register("orders", lambda i, c: PENDING, aliases=("ORDERS_FN",))
    for key in (
        "orders",
        "arn:aws:lambda:us-east-1:000000000000:function:orders",
        "arn:aws:lambda:us-east-1:000000000000:function:orders:$LATEST",
        "arn:aws:lambda:eu-west-1:123456789012:function:orders:prod",
        "orders:$LATEST",
        "ORDERS_FN",
    ):
        assert registry.get(key) is fn, key
    assert registry.get("nope") is None
    assert function_name_of("arn:aws:lambda:us-east-1:000000000000:function:x:1") == "x"
    with pytest.raises(ValueError):
        registry.register("bad name", lambda i, c: PENDING)


def test_one_invocation_per_execution_many_executions_at_once() -> None:
    engine = Engine.in_memory(workers=4, skip_time=False)
    active: dict[str, int] = {}
    peak = {"same": 0, "all": 0}
    lock = threading.Lock()
    barrier = threading.Barrier(3, timeout=5)

    def body(s: Session) -> InvocationOutput:
        with lock:
            active[s.arn] = active.get(s.arn, 0) + 1
            peak["same"] = max(peak["same"], active[s.arn])
            peak["all"] = max(peak["all"], sum(active.values()))
        if len(s.ops) == 1:
            barrier.wait()  # three executions are inside an invocation at the same time
        s.cp(start(f"s{len(s.ops)}"), succeed(f"s{len(s.ops)}", "1"))
        with lock:
            active[s.arn] -= 1
        return succeeded()

    engine.register_function("fn", Recorder(engine, body))
    arns = [engine.start_execution("fn", None) for _ in range(3)]
    engine.run_until_idle()
    assert all(engine.get_execution(a).status is ExecutionStatus.SUCCEEDED for a in arns)
    assert peak == {"same": 1, "all": 3}
    engine.close()


def test_virtual_clock_fires_timers_in_order_without_sleeping(engine: Engine) -> None:
    engine.register_function(
        "fn", workflow(engine, [Wait("w1", 3600), Step("s", fail_times=1, delay=60), Wait("w2", 86_400)])
    )
    arn = engine.start_execution("fn", None, execution_timeout=86_400 + 3700)
    t0 = engine.clock.now()
    wall = time.monotonic()
    engine.run_until_idle()
    due = engine.next_due_time()
    assert due == t0 + timedelta(seconds=3600)
    engine.advance_to(due - timedelta(seconds=1))
    engine.run_until_idle()
    assert engine.get_execution(arn).status is ExecutionStatus.RUNNING
    execution = engine.drive(arn)
    assert execution.status is ExecutionStatus.SUCCEEDED
    assert engine.clock.now() - t0 == timedelta(seconds=3600 + 60 + 86_400)
    assert time.monotonic() - wall < 5


def test_drive_raises_when_nothing_can_resume_the_execution(engine: Engine) -> None:
    engine.register_function("fn", Recorder(engine, lambda s: PENDING))
    arn = engine.start_execution("fn", None)
    with pytest.raises(EngineStalledError, match="nothing is scheduled"):
        engine.drive(arn)


def test_skip_time_needs_a_virtual_clock() -> None:
    engine = Engine.in_memory(skip_time=False)
    assert isinstance(engine.clock, SystemClock)
    with pytest.raises(ValueError, match="virtual clock"):
        engine.drive("arn", skip_time=True)
    with pytest.raises(TypeError):
        engine.advance_to(datetime.now(UTC))
    engine.close()


def test_virtual_clock_basics() -> None:
    start_at = datetime(2026, 1, 1, tzinfo=UTC)
    clock = VirtualClock(start_at)
    clock.advance(5)
    clock.advance(timedelta(seconds=5))
    clock.advance_to(start_at)  # never backwards
    assert clock.now() == start_at + timedelta(seconds=10)
    clock.sleep_until(start_at + timedelta(hours=1), threading.Event())
    assert clock.now() == start_at + timedelta(hours=1)
    with pytest.raises(ValueError):
        VirtualClock(datetime(2026, 1, 1))


def test_system_clock_wakes_early_when_woken() -> None:
    clock = SystemClock()
    wake = threading.Event()
    wake.set()
    began = time.monotonic()
    clock.sleep_until(clock.now() + timedelta(seconds=30), wake)
    assert time.monotonic() - began < 1


def test_invocation_output_status_values() -> None:
    assert {s.value for s in InvocationStatus} == {"SUCCEEDED", "FAILED", "PENDING"}


def test_background_loop_serves_executions_without_drive() -> None:
    engine = Engine.in_memory(skip_time=True)
    finished = threading.Event()
    inner = workflow(engine, [Wait("w", 3600), Step("s", fail_times=1, delay=30)])

    def body(input, context):  # type: ignore[no-untyped-def]
        output = inner(input, context)
        if output.status is InvocationStatus.SUCCEEDED:
            finished.set()
        return output

    engine.register_function("fn", body)
    engine.start()
    try:
        arn = engine.start_execution("fn", None)  # the loop wakes on the start
        assert finished.wait(10)
        engine.run_until_idle()
        assert engine.get_execution(arn).status is ExecutionStatus.SUCCEEDED
    finally:
        engine.close()  # stops the loop too


def test_a_store_failure_is_raised_by_drive_and_a_later_drive_resumes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The store refuses every write of operations (checkpoints, an invocation's end):
    `drive` raises the StoreError instead of waiting for an invocation no thread runs any
    more; once the store works again, the next `drive` closes that invocation as
    interrupted and the execution completes."""
    engine = Engine.in_memory(skip_time=True)
    engine.register_function("fn", workflow(engine, [Step("a"), Wait("w", 10), Step("b")]))
    arn = engine.start_execution("fn", None)
    original = _MemoryTx.put_operations
    broken = {"on": True}

    def put_operations(self, key, operations):  # type: ignore[no-untyped-def]
        if broken["on"]:
            raise StoreError("the disk is full (injected)")
        return original(self, key, operations)

    monkeypatch.setattr(_MemoryTx, "put_operations", put_operations)
    outcome: list[object] = []
    driver = threading.Thread(target=lambda: outcome.append(_drive_or_error(engine, arn)), daemon=True)
    driver.start()
    driver.join(10)
    assert not driver.is_alive(), "drive hung on a store failure"
    assert isinstance(outcome[0], StoreError) and "disk is full" in str(outcome[0])
    assert engine.get_execution(arn).status is ExecutionStatus.RUNNING

    broken["on"] = False
    assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED
    errors = invocation_errors(engine, arn)
    assert errors[0] is not None and "interrupted" in json.dumps(errors[0]).lower()
    engine.close()


def _drive_or_error(engine: Engine, arn: str) -> object:
    try:
        return engine.drive(arn)
    except StoreError as exc:
        return exc


def test_the_background_loop_survives_a_store_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """`perdure serve`'s loop: the store fails while an invocation ends; the loop logs it,
    closes that invocation as interrupted after a pause and invokes the execution again."""
    engine = Engine.in_memory(skip_time=True)
    engine.register_function("fn", workflow(engine, [Step("a")]))
    original = _MemoryTx.complete_invocation
    failures = []

    def complete_invocation(self, request_id, end, error):  # type: ignore[no-untyped-def]
        if not failures:
            failures.append(request_id)
            raise StoreError("the disk is full (injected)")
        return original(self, request_id, end, error)

    monkeypatch.setattr(_MemoryTx, "complete_invocation", complete_invocation)
    engine.start()
    try:
        arn = engine.start_execution("fn", None)
        deadline = time.monotonic() + 10
        while engine.get_execution(arn).status is ExecutionStatus.RUNNING and time.monotonic() < deadline:
            time.sleep(0.05)
        assert failures and engine.get_execution(arn).status is ExecutionStatus.SUCCEEDED
        assert "interrupted" in json.dumps(invocation_errors(engine, arn)[0]).lower()
    finally:
        engine.close()


def test_drive_sees_a_timer_another_loop_fired_meanwhile(monkeypatch: pytest.MonkeyPatch) -> None:
    """`perdure serve`'s loop and `drive` share one engine: right after `drive` reads the
    execution (waiting on a timer), the other loop jumps the virtual clock and fires it.
    `drive` must not call the execution stalled: it reads the execution and the timers in
    one snapshot, and goes on."""
    engine = Engine.in_memory(skip_time=True)
    engine.register_function("fn", workflow(engine, [Step("a"), Wait("w", 60), Step("b")]))
    arn = engine.start_execution("fn", None)
    scheduler = engine.scheduler
    armed = threading.Event()
    original_run = type(scheduler).run_until_idle
    original_transaction = type(engine.store).transaction

    def run_until_idle(self):  # type: ignore[no-untyped-def]
        original_run(self)
        if self.next_due_time() is not None:
            armed.set()  # the execution waits on its timer: race the next read

    @contextmanager
    def transaction(self):  # type: ignore[no-untyped-def]
        with original_transaction(self) as tx:
            yield tx
        if armed.is_set():
            armed.clear()
            # the other loop: jump to the due timer and fire it, between drive's reads
            engine.clock.advance_to(scheduler.next_due_time())  # type: ignore[attr-defined]
            scheduler.fire_due_timers()

    monkeypatch.setattr(type(scheduler), "run_until_idle", run_until_idle)
    monkeypatch.setattr(type(engine.store), "transaction", transaction)
    assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED
    engine.close()
