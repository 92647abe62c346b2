"""The wait operation: record a timer and suspend until the service completes it.

Owns `WaitOperation`: no record -> sync WAIT START with `WaitSeconds`, then re-check (the
response may already say SUCCEEDED); SUCCEEDED -> done; anything else -> suspend until the
scheduled end. `wait_operation` checks the duration's bounds before an id is taken.
Imports only `perdure.wire`, `perdure.sdk` modules below the context, and the stdlib.
"""

from __future__ import annotations

from datetime import timedelta

from perdure.wire.limits import MAX_DELAY_SECONDS
from perdure.wire.types import (
    Operation,
    OperationAction,
    OperationStatus,
    OperationSubType,
    OperationType,
    WaitOptions,
)

from ..config import Duration
from ..errors import ValidationError
from ..state import ExecutionState
from ._base import CheckResult, Flow, OperationExecutor, OperationIdentity, Scope, validate_name
from ._suspend import suspend_for, suspend_until


class WaitOperation(OperationExecutor[None]):
    """Waits `seconds` (see the module docstring)."""

    def __init__(self, seconds: int, state: ExecutionState, identity: OperationIdentity) -> None:
        super().__init__(state, identity)
        self.seconds = seconds

    def check_result_status(self) -> Flow[CheckResult[None]]:
        op = self.checkpoint()
        if op is None:
            yield from self.send(OperationAction.START, wait_options=WaitOptions(wait_seconds=self.seconds))
            return CheckResult.started()
        if op.status is OperationStatus.SUCCEEDED:
            return CheckResult.completed(None)
        return CheckResult.ready(op)

    def execute(self, checkpoint: Operation | None) -> Flow[None]:
        message = f"wait {self.identity.name or self.identity.operation_id} for {self.seconds}s"
        details = checkpoint.wait_details if checkpoint is not None else None
        if details is not None and details.scheduled_end_timestamp is not None:
            suspend_until(message, details.scheduled_end_timestamp, self.state.clock)
        suspend_for(message, self.seconds, self.state.clock)
        yield  # a flow (never reached: both branches raise)


def wait_operation(scope: Scope, duration: Duration | timedelta, name: str | None) -> WaitOperation:
    """The wait `context.wait(duration, name)` runs (its id taken now).

    Raises:
        ValidationError: the duration is out of range or the name invalid.
        TypeError: `duration` is neither a `Duration` nor a `datetime.timedelta`.
    """
    seconds = Duration.of(duration).to_seconds()
    if seconds < 1:
        raise ValidationError("duration must be at least 1 second")
    if seconds > MAX_DELAY_SECONDS:
        raise ValidationError(
            f"duration must be at most {MAX_DELAY_SECONDS:,} seconds (366 days), got {seconds:,}"
        )
    validate_name("operation name", name)
    identity = scope.new_identity(OperationType.WAIT, OperationSubType.WAIT.value, name)
    return WaitOperation(seconds, scope.state, identity)
