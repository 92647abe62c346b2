"""Chained invoke end to end: the SDK's `DurableContext.invoke` on the embedded engine
through `DurableTestRunner` (time skipped), on the memory store and on a SQLite file.

Covered: the target runs as its own execution (own ARN and history) and its result comes
back; a failing, stopped or unknown target raises `InvokeError` in the caller (caught or
failing it); an invoke chain three deep; a caller parked on a running target survives
closing and reopening the database; a target in a worker process; an oversize payload
fails the execution once with an error naming the operation, the size and the limit.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perdure import DurableContext, Duration, InvokeConfig, InvokeError, durable_execution
from perdure.testing import DurableTestRunner
from perdure.wire.limits import MAX_CHAINED_INVOKE_PAYLOAD_BYTES
from perdure.wire.types import (
    ErrorObject,
    EventType,
    ExecutionStatus,
    ListDurableExecutionsByFunctionRequest,
    StopDurableExecutionRequest,
)


@durable_execution
def echo(event: Any, context: DurableContext) -> Any:
    context.wait(Duration.from_seconds(1))
    return event


@durable_execution
def explode(event: Any, context: DurableContext) -> Any:
    context.wait(Duration.from_seconds(1))
    raise RuntimeError(f"target function error: {event}")


@durable_execution
def sleeper(event: Any, context: DurableContext) -> Any:
    context.wait(Duration.from_hours(1))
    return "woke"


@pytest.fixture(params=["memory", "sqlite"])
def runner(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DurableTestRunner]:
    if request.param == "memory":
        made = DurableTestRunner.start_time_skipping()
    else:
        made = DurableTestRunner.start_local(str(tmp_path / "perdure.db"), skip_time=True)
    with made as runner:
        runner.register(echo, "echo")
        runner.register(explode, "explode")
        runner.register(sleeper, "sleeper")
        yield runner


def executions_of(runner: DurableTestRunner, function_name: str) -> list[str]:
    page = runner.engine.service.list_durable_executions_by_function(
        ListDurableExecutionsByFunctionRequest(function_name)
    )
    return [e.durable_execution_arn for e in page.durable_executions]


def test_the_invoked_function_runs_as_its_own_execution(runner: DurableTestRunner) -> None:
    @durable_execution
    def caller(event: Any, context: DurableContext) -> Any:
        config: InvokeConfig[Any, Any] = InvokeConfig(tenant_id="acme")
        return context.invoke("echo", {"order": event}, name="call echo", config=config)

    result = runner.run(caller, 42)
    assert result.succeeded and result.result == {"order": 42}
    op = result.operation("call echo")
    assert (op.type, op.sub_type, op.status, op.result) == (
        "CHAINED_INVOKE",
        "ChainedInvoke",
        "SUCCEEDED",
        {"order": 42},
    )
    started = next(e for e in result.history if e.event_type is EventType.CHAINED_INVOKE_STARTED)
    (child,) = executions_of(runner, "echo")
    assert started.details.durable_execution_arn == child != result.execution_arn
    assert started.details.tenant_id == "acme" and started.details.executed_version == "$LATEST"
    echoed = runner.result(child)
    assert echoed.succeeded and echoed.result == {"order": 42}
    assert [o.type for o in echoed.operations] == ["WAIT"]
    assert result.invocations == 2


def test_a_failing_target_raises_invoke_error_on_every_replay(runner: DurableTestRunner) -> None:
    caught: list[tuple[str, str | None]] = []

    @durable_execution
    def caller(event: Any, context: DurableContext) -> str:
        try:
            context.invoke("explode", "boom")
        except InvokeError as error:
            caught.append((error.error_type, error.message))
        context.wait(Duration.from_seconds(5))
        return "recovered"

    result = runner.run(caller)
    assert result.succeeded and result.result == "recovered"
    assert caught == [("RuntimeError", "target function error: boom")] * 2  # first run, then replay
    failed = next(e for e in result.history if e.event_type is EventType.CHAINED_INVOKE_FAILED)
    assert failed.details.error is not None and failed.details.error.payload is not None
    assert failed.details.error.payload.error_type == "RuntimeError"


def test_an_uncaught_invoke_error_fails_the_caller(runner: DurableTestRunner) -> None:
    @durable_execution
    def caller(event: Any, context: DurableContext) -> Any:
        return context.invoke("explode", "x")

    result = runner.run(caller)
    assert result.status == "FAILED"
    assert result.error is not None and "target function error: x" in (result.error.error_message or "")


def test_an_unknown_function_fails_the_invoke_at_once(runner: DurableTestRunner) -> None:
    @durable_execution
    def caller(event: Any, context: DurableContext) -> str:
        try:
            context.invoke("no-such-function", 1)
        except InvokeError as error:
            return f"{error.error_type}: {error.message}"
        return "unreachable"

    result = runner.run(caller)
    assert result.succeeded and result.invocations == 1
    assert result.result.startswith("ResourceNotFoundException: Function not found:")
    assert "no-such-function" in result.result


def test_stopping_the_target_raises_invoke_error_in_the_caller(runner: DurableTestRunner) -> None:
    @durable_execution
    def caller(event: Any, context: DurableContext) -> str:
        try:
            context.invoke("sleeper", None)
        except InvokeError as error:
            return f"stopped: {error.message}"
        return "finished"

    arn = runner.start(caller)
    runner.engine.run_until_idle()  # the caller waits for the sleeper, which waits an hour
    (child,) = executions_of(runner, "sleeper")
    runner.engine.service.stop_durable_execution(
        StopDurableExecutionRequest(child, ErrorObject("operator said so", "Stopped"))
    )
    runner.engine.drive(arn)
    result = runner.result(arn)
    assert result.succeeded and result.result == "stopped: operator said so"
    assert any(e.event_type is EventType.CHAINED_INVOKE_STOPPED for e in result.history)


def test_an_invoke_chain_three_deep(runner: DurableTestRunner) -> None:
    @durable_execution
    def middle(event: Any, context: DurableContext) -> Any:
        inner: int = context.invoke("echo", event + 1)
        return context.step(lambda _: inner * 10, name="scale")

    runner.register(middle, "middle")

    @durable_execution
    def top(event: Any, context: DurableContext) -> Any:
        return [context.invoke("middle", event), context.invoke("middle", event + 100)]

    result = runner.run(top, 1)
    assert result.succeeded and result.result == [20, 1020]
    assert len(executions_of(runner, "middle")) == 2 and len(executions_of(runner, "echo")) == 2


def test_a_caller_waiting_on_a_target_survives_reopening_the_database(tmp_path: Path) -> None:
    @durable_execution
    def caller(event: Any, context: DurableContext) -> str:
        return f"the sleeper said {context.invoke('sleeper', None)}"

    db = str(tmp_path / "perdure.db")
    with DurableTestRunner.start_local(db, skip_time=True) as first:
        first.register(sleeper, "sleeper")
        first.register(caller, "caller")
        arn = first.start("caller")
        first.engine.run_until_idle()
        assert first.result(arn).status == "RUNNING"

    with DurableTestRunner.start_local(db, skip_time=True) as second:
        second.register(sleeper, "sleeper")
        second.register(caller, "caller")
        second.engine.drive(arn)
        result = second.result(arn)
    assert result.succeeded and result.result == "the sleeper said woke"


def test_a_target_in_a_worker_process(runner: DurableTestRunner, tmp_path: Path) -> None:
    module = tmp_path / "remote_echo.py"
    module.write_text(
        textwrap.dedent(
            """
            import os
            from perdure import DurableContext, durable_execution

            @durable_execution
            def handler(event, context: DurableContext):
                return {"echo": event, "pid": context.step(lambda _: os.getpid(), name="pid")}
            """
        )
    )
    runner.register(f"{module}:handler", "remote", isolation="process")

    @durable_execution
    def caller(event: Any, context: DurableContext) -> Any:
        return context.invoke("remote", event)

    result = runner.run(caller, "hi")
    assert result.succeeded and result.result["echo"] == "hi"
    assert result.result["pid"] != os.getpid()


def test_an_oversize_payload_fails_the_execution_once_with_a_clear_error(runner: DurableTestRunner) -> None:
    @durable_execution
    def caller(event: Any, context: DurableContext) -> Any:
        return context.invoke("echo", "x" * MAX_CHAINED_INVOKE_PAYLOAD_BYTES, name="too big")

    result = runner.run(caller)
    assert result.status == "FAILED" and result.invocations == 1
    assert result.error is not None and result.error.error_type is not None
    assert result.error.error_type.endswith("SerDesError")
    message = result.error.error_message or ""
    assert "invoke 'too big'" in message and f"{MAX_CHAINED_INVOKE_PAYLOAD_BYTES + 2:,} bytes" in message
    assert f"{MAX_CHAINED_INVOKE_PAYLOAD_BYTES:,}-byte limit" in message
    assert executions_of(runner, "echo") == []
    assert not any(e.event_type is EventType.CHAINED_INVOKE_STARTED for e in result.history)
    assert runner.engine.get_execution(result.execution_arn).status is ExecutionStatus.FAILED


def test_a_payload_at_the_limit_is_sent_and_echoed(runner: DurableTestRunner) -> None:
    @durable_execution
    def caller(event: Any, context: DurableContext) -> int:
        payload = "x" * (MAX_CHAINED_INVOKE_PAYLOAD_BYTES - 2)  # its JSON is exactly the limit
        echoed: str = context.invoke("echo", payload)
        return len(echoed)

    result = runner.run(caller)
    assert result.succeeded and result.result == MAX_CHAINED_INVOKE_PAYLOAD_BYTES - 2

    @durable_execution
    def nested(event: Any, context: DurableContext) -> int:
        # The child context's START is still queued when the invoke's START is sent: the
        # batcher sends them in two requests, the invoke alone.
        return context.run_in_child_context(
            lambda child: len(child.invoke("echo", "y" * (MAX_CHAINED_INVOKE_PAYLOAD_BYTES - 2)))
        )

    result = runner.run(nested)
    assert result.succeeded and result.result == MAX_CHAINED_INVOKE_PAYLOAD_BYTES - 2
