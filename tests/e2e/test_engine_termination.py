"""Stop and ExecutionTimeout with the real SDK: an invocation running when the service ends
the execution has its token revoked, so its next checkpoint (here, the step's result)
changes nothing and the SDK returns PENDING; the history ends with the terminal event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from perdure import DurableContext, StepContext, durable_execution
from perdure.engine import Engine, LambdaContext
from perdure.link.inprocess import InProcessInvocable
from perdure.link.target import as_lambda_handler
from perdure.wire.types import (
    ErrorObject,
    ExecutionStatus,
    InvocationInput,
    InvocationOutput,
    InvocationStatus,
    StopDurableExecutionRequest,
)


@dataclass
class Recording:
    """Wraps the in-process link and keeps every invocation's output."""

    inner: InProcessInvocable
    outputs: list[InvocationOutput] = field(default_factory=list)

    def __call__(self, input: InvocationInput, context: LambdaContext) -> InvocationOutput:
        output = self.inner(input, context)
        self.outputs.append(output)
        return output


def run_with(end: str) -> tuple[Engine, str, Recording]:
    engine = Engine.in_memory()
    ran_after: list[str] = []

    @durable_execution
    def handler(event: Any, context: DurableContext) -> str:
        def interrupted(step: StepContext) -> str:
            arn = context.state.durable_execution_arn
            if end == "stop":
                engine.service.stop_durable_execution(StopDurableExecutionRequest(arn, ErrorObject("halt")))
            else:
                engine.advance_to(engine.clock.now() + timedelta(seconds=120))
                engine.scheduler.fire_due_timers()
            return "done"

        context.step(interrupted, name="long")
        ran_after.append("second")
        context.step(lambda _: "never", name="after")
        return "finished"

    recording = Recording(InProcessInvocable(as_lambda_handler(handler), engine.service))
    engine.register_function("fn", recording)
    arn = engine.start_execution("fn", None, execution_timeout=60)
    engine.drive(arn)
    assert ran_after == []  # the step's result was refused, so the handler never went past it
    return engine, arn, recording


@pytest.mark.parametrize(
    ("end", "status", "terminal"),
    [
        ("stop", ExecutionStatus.STOPPED, "ExecutionStopped"),
        ("timeout", ExecutionStatus.TIMED_OUT, "ExecutionTimedOut"),
    ],
)
def test_the_sdk_returns_pending_and_the_history_ends_with_the_terminal_event(
    end: str, status: ExecutionStatus, terminal: str
) -> None:
    engine, arn, recording = run_with(end)
    try:
        assert engine.get_execution(arn).status is status
        assert [o.status for o in recording.outputs] == [InvocationStatus.PENDING]
        types = [e.event_type.value for e in engine.history(arn)]
        # The step's START travels with its SUCCEED (the SDK sends an at-least-once START
        # asynchronously): the whole revoked request is refused, so neither is recorded.
        assert types == ["ExecutionStarted", "InvocationCompleted", terminal]
    finally:
        engine.close()
