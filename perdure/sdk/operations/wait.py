"""The wait operation: record a timer and suspend until the service completes it.

Owns `WaitOperation`: no record -> sync WAIT START with `WaitSeconds`, then re-check (the
response may already say SUCCEEDED); SUCCEEDED -> done; anything else -> suspend until the
scheduled end. Duration bounds are checked by the context before an id is taken.
Imports only `perdure.wire`, `perdure.sdk` modules below the context, and the stdlib.
"""

from __future__ import annotations

from perdure.wire.types import Operation, OperationAction, OperationStatus, WaitOptions

from ..state import ExecutionState
from ._base import CheckResult, Flow, OperationExecutor, OperationIdentity
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
            suspend_until(message, details.scheduled_end_timestamp)
        suspend_for(message, self.seconds)
        yield  # a flow (never reached: both branches raise)
