"""End to end through the public API: `DurableTestRunner` on the embedded engine."""

from __future__ import annotations

import pytest

from perdure import DurableContext, Duration, StepContext, durable_execution
from perdure.testing import DurableTestRunner

from .helpers import FLOWS


def test_order_flow_runs_to_the_end_with_time_skipped():
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(f"{FLOWS}/order_flow.py:handler", {"order_id": "o-7", "items": ["book", "lamp"]})
    assert result.status == "SUCCEEDED", result.error
    assert result.result == {
        "order_id": "o-7",
        "reservations": ["o-7:book", "o-7:lamp"],
        "payment": {"charged": 20, "attempt": 2},
        "tracking": "shipped-o-7",
    }
    assert result.operation("charge").attempts == 2
    assert result.operation("cool_off").status == "SUCCEEDED"
    assert result.operation("ship").parent_id == result.operation("shipping").id
    assert result.invocations == 3  # first run, after the retry delay, after the wait


def test_handler_function_failure_and_logs():
    @durable_execution
    def failing(event: str, context: DurableContext) -> str:
        def log_and_fail(step_context: StepContext) -> str:
            step_context.logger.info(f"checking {event}")
            raise ValueError(f"{event} is not valid")

        from perdure import RetryPresets, StepConfig

        return context.step(log_and_fail, config=StepConfig(retry_strategy=RetryPresets.none()))

    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(failing, "x-1")
        logs = runner.logs(result.execution_arn)
    assert result.status == "FAILED"
    assert result.error is not None and "x-1 is not valid" in (result.error.error_message or "")
    assert [r["message"] for r in logs] == ["checking x-1"]
    assert logs[0]["executionArn"] == result.execution_arn


def test_same_execution_name_returns_the_same_execution():
    @durable_execution
    def waiter(event: int, context: DurableContext) -> int:
        context.wait(Duration.from_seconds(30))
        return event + 1

    with DurableTestRunner.start_time_skipping() as runner:
        first = runner.run(waiter, 1, execution_name="same")
        again = runner.run(waiter, 1, execution_name="same")
        assert first.execution_arn == again.execution_arn and again.result == 2
        from perdure.wire.errors import DurableExecutionAlreadyStartedError

        with pytest.raises(DurableExecutionAlreadyStartedError):
            runner.run(waiter, 2, execution_name="same")


def test_official_sdk_names_run_through_the_alias():
    from perdure.compat import install, uninstall

    install()
    try:
        with DurableTestRunner.start_time_skipping() as runner:
            result = runner.run(f"{FLOWS}/official_names.py:handler", {"value": 20})
    finally:
        uninstall()
    assert result.status == "SUCCEEDED" and result.result == 41


def test_process_isolation_records_a_crash_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("CRASH_ONCE_COUNTER", str(tmp_path / "runs"))
    with DurableTestRunner.start_time_skipping() as runner:
        name = runner.register(f"{FLOWS}/crash_once.py:handler", isolation="process")
        result = runner.run(name, "the crash")
    assert result.status == "SUCCEEDED" and result.result == "survived the crash"
    crashes = [
        e
        for e in result.history
        if e.event_type.value == "InvocationCompleted" and e.details.error is not None
    ]
    assert len(crashes) == 1
    assert crashes[0].details.error.payload.error_type == "Runtime.ExitError"
