"""Helpers for the map/parallel tests: services that model what the AWS service returns.

- `DroppingService`: a new invocation does not receive the children of a completed
  CONTEXT unless it was recorded with ReplayChildren (as the
  service does), so replay must not depend on them.
- `RefreshingService`: every checkpoint response (a refresh, too) reports started waits
  as SUCCEEDED, as the service does once their timer fired.
"""

from __future__ import annotations

from dataclasses import replace

from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    CheckpointUpdatedExecutionState,
    Operation,
    OperationStatus,
    OperationType,
)

from .fakes import FakeService


class DroppingService(FakeService):
    """Omits the descendants of completed contexts not marked ReplayChildren."""

    def _visible(self, op: Operation) -> bool:
        parent_id = op.parent_id
        while parent_id:
            parent = self.ops.get(parent_id)
            if parent is None:
                return True
            if (
                parent.type is OperationType.CONTEXT
                and parent.status.is_terminal
                and not (parent.context_details and parent.context_details.replay_children)
            ):
                return False
            parent_id = parent.parent_id
        return True

    def operations(self) -> list[Operation]:
        return [op for op in super().operations() if self._visible(op)]


class RefreshingService(FakeService):
    """Reports started waits SUCCEEDED in every checkpoint response after the first."""

    def __init__(self) -> None:
        super().__init__()
        self.fire_on_refresh = True

    def checkpoint_durable_execution(
        self, request: CheckpointDurableExecutionRequest
    ) -> CheckpointDurableExecutionResponse:
        started = {op.id for op in self.ops.values() if op.type is OperationType.WAIT}
        response = super().checkpoint_durable_execution(request)
        if not self.fire_on_refresh:
            return response
        fired: list[Operation] = []
        for op_id in started:
            op = self.ops[op_id]
            if op.status is OperationStatus.STARTED:
                fired.append(self._put(replace(op, status=OperationStatus.SUCCEEDED, end_timestamp=self.now)))
        operations = response.new_execution_state.operations + tuple(fired)
        return replace(response, new_execution_state=CheckpointUpdatedExecutionState(operations=operations))
