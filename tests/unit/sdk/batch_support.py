"""Helpers for the map/parallel tests: services that model what the AWS service returns.

- `DroppingService`: a new invocation does not receive the children of a completed
  CONTEXT unless it was recorded with ReplayChildren (research/05 §4, the .NET #2476
  finding), so replay must not depend on them.
- `RefreshingService`: an empty checkpoint (a state refresh) reports due waits as
  SUCCEEDED, as the service does once their timer fired.
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
    """Completes started waits when asked for a refresh (a checkpoint without updates)."""

    def __init__(self) -> None:
        super().__init__()
        self.refreshes = 0
        self.fire_on_refresh = True

    def checkpoint_durable_execution(
        self, request: CheckpointDurableExecutionRequest
    ) -> CheckpointDurableExecutionResponse:
        if request.updates:
            return super().checkpoint_durable_execution(request)
        self.refreshes += 1
        response = super().checkpoint_durable_execution(request)
        fired: list[Operation] = []
        if self.fire_on_refresh:
            for op in list(self.ops.values()):
                if op.type is OperationType.WAIT and op.status is OperationStatus.STARTED:
                    fired.append(self._put(replace(op, status=OperationStatus.SUCCEEDED, end_timestamp=self.now)))
        return replace(response, new_execution_state=CheckpointUpdatedExecutionState(operations=tuple(fired)))


# TEMPORARY: until DurableContext.parallel/map land in context.py (after 01:40 UTC).
from perdure.sdk.context import DurableContext  # noqa: E402
from perdure.sdk.operations.map import map_items  # noqa: E402
from perdure.sdk.operations.parallel import parallel  # noqa: E402

if not hasattr(DurableContext, "parallel"):
    DurableContext.parallel = parallel  # type: ignore[attr-defined]
    DurableContext.map = map_items  # type: ignore[attr-defined]
