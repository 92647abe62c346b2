"""DurableTestRunner stepping on the virtual clock: run_until_suspended, resume, advance,
callback_id and send_callback_*, stop, and their refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from perdure import CallbackConfig, DurableContext, Duration, durable_execution
from perdure.engine import Engine, EngineStalledError
from perdure.testing import DurableTestRunner


@durable_execution
def two_callbacks(event: Any, context: DurableContext) -> list[Any]:
    first = context.create_callback(name="first")
    second = context.create_callback(
        name="second", config=CallbackConfig(heartbeat_timeout=Duration.from_seconds(60))
    )
    return [first.result(), second.result()]


@durable_execution
def sleeper(event: Any, context: DurableContext) -> str:
    context.wait(Duration.from_seconds(10), name="a")
    context.wait(Duration.from_seconds(20), name="b")
    return "awake"


@pytest.fixture
def runner() -> Any:
    with DurableTestRunner.start_time_skipping() as made:
        yield made


def test_callbacks_are_found_by_name_and_completed(runner: DurableTestRunner) -> None:
    state = runner.run_until_suspended(two_callbacks)
    arn = state.execution_arn
    with pytest.raises(LookupError, match=r"2 open callbacks; name one \(callbacks: \['first', 'second'\]\)"):
        runner.callback_id(arn)
    with pytest.raises(LookupError, match="no callback named 'third'"):
        runner.callback_id(arn, "third")
    runner.send_callback_success(runner.callback_id(arn, "first"), '"one"')
    assert runner.resume(arn).is_running
    assert runner.callback_id(arn) == runner.callback_id(arn, "second")  # the only open one now
    runner.advance(59)
    runner.send_callback_heartbeat(runner.callback_id(arn))
    runner.advance(59)  # the heartbeat kept it alive
    runner.send_callback_success(runner.callback_id(arn), b'"two"')
    assert runner.resume(arn).result == ['"one"', '"two"']


@durable_execution
def one_callback(event: Any, context: DurableContext) -> Any:
    return context.create_callback(name="only").result()


def test_resume_refuses_to_wait_for_a_callback_nobody_sends(runner: DurableTestRunner) -> None:
    state = runner.run_until_suspended(one_callback)
    with pytest.raises(EngineStalledError, match="only the test can do"):
        runner.resume(state.execution_arn)


def test_resume_and_advance_fire_timers_in_order(runner: DurableTestRunner) -> None:
    state = runner.run_until_suspended(sleeper)
    t0 = runner.engine.clock.now()
    assert state.operation("a").status == "STARTED"
    state = runner.resume(state.execution_arn)
    assert runner.engine.clock.now() == t0 + timedelta(seconds=10)
    assert state.operation("a").status == "SUCCEEDED" and state.operation("b").status == "STARTED"
    runner.advance(timedelta(seconds=5))
    assert runner.result(state.execution_arn).is_running
    runner.advance(15)
    final = runner.result(state.execution_arn)
    assert final.result == "awake" and runner.engine.clock.now() == t0 + timedelta(seconds=30)
    succeeded = [e for e in final.history if e.event_type.value == "WaitSucceeded"]
    assert [e.event_timestamp - t0 for e in succeeded] == [timedelta(seconds=10), timedelta(seconds=30)]


def test_advance_past_the_execution_timeout(runner: DurableTestRunner) -> None:
    state = runner.run_until_suspended(two_callbacks, execution_timeout=300)
    runner.advance(300)
    result = runner.result(state.execution_arn)
    assert result.status == "TIMED_OUT" and result.error is not None
    assert "300 seconds" in (result.error.error_message or "")


def test_stop(runner: DurableTestRunner) -> None:
    state = runner.run_until_suspended(sleeper)
    stopped = runner.stop(state.execution_arn)
    assert stopped.status == "STOPPED" and stopped.history[-1].event_type.value == "ExecutionStopped"


def test_stepping_needs_the_virtual_clock() -> None:
    with DurableTestRunner(Engine.in_memory(skip_time=False)) as real:
        arn = real.start(sleeper)
        with pytest.raises(TypeError, match="virtual clock"):
            real.resume(arn)
        with pytest.raises(TypeError, match="virtual clock"):
            real.advance(1)


@durable_execution
def flaky(event: Any, context: DurableContext) -> int:
    def body(step: Any) -> int:
        if step.attempt < 2:
            raise RuntimeError(f"boom {step.attempt}")
        return step.attempt

    return context.step(body, name="flaky")  # the default strategy retries after a delay


def test_a_step_awaiting_its_retry_is_pending(runner: DurableTestRunner) -> None:
    state = runner.run_until_suspended(flaky)
    step = state.operation("flaky")
    assert (step.status, step.attempts, step.error and step.error.error_message) == ("PENDING", 1, "boom 1")
    ended = runner.wait_for_result(state.execution_arn)
    assert [(o.name, o.status, o.attempts) for o in ended.operations] == [("flaky", "SUCCEEDED", 2)]
