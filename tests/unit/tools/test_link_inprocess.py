"""perdure.link.inprocess: a handler that ends its interpreter is a crashed invocation."""

from __future__ import annotations

import contextlib
import os
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from perdure import DurableContext, durable_execution
from perdure.engine.invoker import InvocationCrashed
from perdure.link.inprocess import InProcessInvocable, exits_as_crashes
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    CheckpointUpdatedExecutionState,
    ExecutionDetails,
    GetDurableExecutionStateRequest,
    GetDurableExecutionStateResponse,
    InitialExecutionState,
    InvocationInput,
    Operation,
    OperationStatus,
    OperationType,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


class RecordingService:
    """Accepts every checkpoint and records the updates' names."""

    def __init__(self) -> None:
        self.names: list[str | None] = []

    def checkpoint_durable_execution(
        self, request: CheckpointDurableExecutionRequest
    ) -> CheckpointDurableExecutionResponse:
        self.names += [update.name for update in request.updates]
        return CheckpointDurableExecutionResponse(CheckpointUpdatedExecutionState(), checkpoint_token="t")

    def get_durable_execution_state(
        self, request: GetDurableExecutionStateRequest
    ) -> GetDurableExecutionStateResponse:
        return GetDurableExecutionStateResponse(operations=())


def _invoke(handler: Any, service: RecordingService) -> Any:
    execution = Operation(
        id="exec",
        type=OperationType.EXECUTION,
        status=OperationStatus.STARTED,
        start_timestamp=START,
        execution_details=ExecutionDetails(input_payload="{}"),
    )
    state = InitialExecutionState(operations=(execution,))
    input = InvocationInput(durable_execution_arn="exec", checkpoint_token="t", initial_execution_state=state)
    return InProcessInvocable(handler, service)(input, None)


@pytest.mark.parametrize(("code", "status"), [(None, 0), (3, 3), ("bye", 1)])
def test_sys_exit_is_a_runtime_exit_error(code: object, status: int) -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        sys.exit(code)

    with pytest.raises(InvocationCrashed) as crashed:
        _invoke(handler, RecordingService())
    assert crashed.value.error.error_type == "Runtime.ExitError"
    assert crashed.value.error.error_message == f"Runtime exited with error: exit status {status}"


def test_os_exit_under_exits_as_crashes_crashes_the_invocation_and_nothing_after_it_is_sent() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        ctx.step(lambda _: "before", name="before")
        with contextlib.suppress(BaseException):  # swallowed: the process would be gone all the same
            os._exit(7)
        ctx.step(lambda _: "after", name="after")
        return "unreachable"

    service = RecordingService()
    real_exit = os._exit
    with exits_as_crashes(), exits_as_crashes():
        with pytest.raises(InvocationCrashed, match="exit status 7"):
            _invoke(handler, service)
        assert os._exit is not real_exit
    assert os._exit is real_exit
    assert service.names == ["before", "before"]  # its START and SUCCEED; nothing of "after"
