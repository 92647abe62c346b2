"""A dict-backed `DurableServiceClient` that applies updates the way the AWS service does.

STEP: START -> STARTED, RETRY -> PENDING with Attempt+1 (READY after `advance()`),
SUCCEED/FAIL -> terminal. WAIT: START -> STARTED (SUCCEEDED after `advance()`). CONTEXT:
START -> STARTED, SUCCEED/FAIL -> terminal. EXECUTION SUCCEED/FAIL -> the response has
no checkpoint token. A stale token is refused like AWS ("Invalid checkpoint token").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from perdure.sdk.clock import SYSTEM_CLOCK, Clock
from perdure.sdk.context import DurableContext
from perdure.sdk.execution import InvocationInputWithClient, durable_execution
from perdure.wire.errors import INVALID_CHECKPOINT_TOKEN, InvalidParameterValueError
from perdure.wire.types import (
    CallbackDetails,
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    CheckpointUpdatedExecutionState,
    ContextDetails,
    ExecutionDetails,
    GetDurableExecutionStateRequest,
    GetDurableExecutionStateResponse,
    InitialExecutionState,
    InvocationInput,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    WaitDetails,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST/durable-execution/exec-1/inv-1"
EXECUTION_ID = "inv-1"
NOW = datetime(2026, 1, 1, tzinfo=UTC)

_ = CallbackDetails  # imported for later operation types


class FakeService:
    """The durable-execution service of one execution, in memory."""

    def __init__(self, input_payload: str | None = "{}", arn: str = ARN) -> None:
        self.arn = arn
        self.ops: dict[str, Operation] = {}
        self.order: list[str] = []
        self.token_counter = 0
        self.token = "t0"
        self.requests: list[CheckpointDurableExecutionRequest] = []
        self.state_requests: list[GetDurableExecutionStateRequest] = []
        self.revoke_next = False
        self.fail_next: Exception | None = None
        self.completed: OperationUpdate | None = None
        self.page_size: int | None = None
        self.now = NOW
        self.clock: Clock = SYSTEM_CLOCK
        """The clock the SDK reads during this service's invocations."""
        self._put(
            Operation(
                id=arn.rsplit("/", 1)[-1],
                type=OperationType.EXECUTION,
                status=OperationStatus.STARTED,
                start_timestamp=NOW,
                execution_details=ExecutionDetails(input_payload=input_payload),
            )
        )

    # ------------------------------------------------------------------ helpers

    def _put(self, op: Operation) -> Operation:
        if op.id not in self.ops:
            self.order.append(op.id)
        self.ops[op.id] = op
        return op

    def _new_token(self) -> str:
        self.token_counter += 1
        self.token = f"t{self.token_counter}"
        return self.token

    def operations(self) -> list[Operation]:
        return [self.ops[i] for i in self.order]

    def invocation(self) -> InvocationInputWithClient:
        """The next invocation's input (a fresh token, every operation or the first page)."""
        ops = tuple(self.operations())
        marker = None
        if self.page_size is not None and len(ops) > self.page_size:
            marker = str(self.page_size)
            ops = ops[: self.page_size]
        return InvocationInputWithClient(
            input=InvocationInput(
                durable_execution_arn=self.arn,
                checkpoint_token=self._new_token(),
                initial_execution_state=InitialExecutionState(operations=ops, next_marker=marker),
            ),
            client=self,
            clock=self.clock,
        )

    def advance(self) -> None:
        """Let time pass: due retries become READY, started waits SUCCEEDED."""
        for op in list(self.ops.values()):
            if op.type is OperationType.STEP and op.status is OperationStatus.PENDING:
                self._put(replace(op, status=OperationStatus.READY))
            elif op.type is OperationType.WAIT and op.status is OperationStatus.STARTED:
                self._put(replace(op, status=OperationStatus.SUCCEEDED, end_timestamp=self.now))

    def updates(self) -> list[OperationUpdate]:
        return [u for r in self.requests for u in r.updates]

    def actions(self) -> list[tuple[str, str]]:
        return [(u.type.value, u.action.value) for u in self.updates()]

    # ---------------------------------------------------------------- protocol

    def checkpoint_durable_execution(
        self, request: CheckpointDurableExecutionRequest
    ) -> CheckpointDurableExecutionResponse:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        if request.checkpoint_token != self.token:
            raise InvalidParameterValueError(f"{INVALID_CHECKPOINT_TOKEN}: {request.checkpoint_token}")
        self.requests.append(request)
        changed: list[Operation] = []
        finished = False
        for update in request.updates:
            if update.type is OperationType.EXECUTION:
                self.completed = update
                finished = True
                continue
            changed.append(self._apply(update))
        state = CheckpointUpdatedExecutionState(operations=tuple(changed))
        if finished:
            return CheckpointDurableExecutionResponse(new_execution_state=state)
        if self.revoke_next:
            self.revoke_next = False
            return CheckpointDurableExecutionResponse(new_execution_state=state)
        return CheckpointDurableExecutionResponse(
            new_execution_state=state, checkpoint_token=self._new_token()
        )

    def get_durable_execution_state(
        self, request: GetDurableExecutionStateRequest
    ) -> GetDurableExecutionStateResponse:
        self.state_requests.append(request)
        ops = self.operations()
        start = int(request.marker or 0)
        size = self.page_size or 1000
        page = tuple(ops[start : start + size])
        marker = str(start + size) if start + size < len(ops) else None
        return GetDurableExecutionStateResponse(operations=page, next_marker=marker)

    def _apply(self, update: OperationUpdate) -> Operation:
        current = self.ops.get(update.id)
        action = update.action
        common: dict[str, Any] = {
            "id": update.id,
            "type": update.type,
            "parent_id": update.parent_id,
            "name": update.name,
            "sub_type": update.sub_type,
            "start_timestamp": current.start_timestamp if current else self.now,
        }
        if update.type is OperationType.STEP:
            details = (current.step_details if current else None) or StepDetails(attempt=0)
            if action is OperationAction.START:
                return self._put(Operation(status=OperationStatus.STARTED, step_details=details, **common))
            if action is OperationAction.RETRY:
                delay = update.step_options.next_attempt_delay_seconds if update.step_options else 1
                details = replace(
                    details,
                    attempt=(details.attempt or 0) + 1,
                    next_attempt_timestamp=self.now + timedelta(seconds=delay or 1),
                    error=update.error,
                    result=update.payload,
                )
                return self._put(Operation(status=OperationStatus.PENDING, step_details=details, **common))
            if action is OperationAction.SUCCEED:
                details = replace(details, result=update.payload, error=None)
                return self._put(
                    Operation(
                        status=OperationStatus.SUCCEEDED,
                        step_details=details,
                        end_timestamp=self.now,
                        **common,
                    )
                )
            if action is OperationAction.FAIL:
                details = replace(details, error=update.error)
                return self._put(
                    Operation(
                        status=OperationStatus.FAILED, step_details=details, end_timestamp=self.now, **common
                    )
                )
        if update.type is OperationType.WAIT and action is OperationAction.START:
            seconds = update.wait_options.wait_seconds if update.wait_options else 0
            return self._put(
                Operation(
                    status=OperationStatus.STARTED,
                    wait_details=WaitDetails(
                        scheduled_end_timestamp=self.now + timedelta(seconds=seconds or 0)
                    ),
                    **common,
                )
            )
        if update.type is OperationType.CONTEXT:
            if action is OperationAction.START:
                return self._put(Operation(status=OperationStatus.STARTED, **common))
            if action is OperationAction.SUCCEED:
                replay = bool(update.context_options and update.context_options.replay_children)
                return self._put(
                    Operation(
                        status=OperationStatus.SUCCEEDED,
                        context_details=ContextDetails(replay_children=replay, result=update.payload),
                        end_timestamp=self.now,
                        **common,
                    )
                )
            if action is OperationAction.FAIL:
                return self._put(
                    Operation(
                        status=OperationStatus.FAILED,
                        context_details=ContextDetails(error=update.error),
                        end_timestamp=self.now,
                        **common,
                    )
                )
        raise InvalidParameterValueError(f"unsupported update {update.type} {action}")


def run_to_end(handler: Any, service: FakeService, max_invocations: int = 20) -> tuple[dict[str, Any], int]:
    """Invoke until the output is not PENDING (advancing time between); (output, invocations)."""
    for n in range(1, max_invocations + 1):
        output = handler(service.invocation(), None)
        if output["Status"] != "PENDING":
            return output, n
        service.advance()
    raise AssertionError("the execution did not finish")


def run_body(body: Any, service: FakeService | None = None) -> tuple[dict[str, Any], FakeService, int]:
    """Run `body(ctx)` as a whole handler to its end; (output, service, invocations)."""
    service = service or FakeService()

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return body(ctx)

    output, invocations = run_to_end(handler, service)
    return output, service, invocations
