"""Replay state of one invocation: the checkpointed operations and the identity check.

Owns `ExecutionState`: the operations map (loaded from the invocation's
`InitialExecutionState`, paged through `GetDurableExecutionState` while a `NextMarker` is
set, and merged with every checkpoint response by replacing whole entries by id), the
identity check that detects non-determinism, and the hand-off of updates to the
checkpoint writer (`perdure.sdk.batcher`), which is a separate object. Imports only
`perdure.wire`, `perdure.sdk.errors` and the standard library.

Threads: the checkpoint writer merges responses while handler threads read. Every read is
a single dict lookup and every merge a single dict assignment per operation, which the
interpreter makes atomic; a sync checkpoint returns only after its response was merged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import ExitStack
from enum import Enum
from typing import TYPE_CHECKING, Protocol

from perdure.wire.limits import MAX_STATE_PAGE
from perdure.wire.service import DurableServiceClient
from perdure.wire.types import (
    GetDurableExecutionStateRequest,
    InitialExecutionState,
    Operation,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

from .clock import SYSTEM_CLOCK, Clock
from .errors import GetExecutionStateError, NonDeterministicExecutionError

if TYPE_CHECKING:
    import asyncio
from .plugin import NO_PLUGINS, PluginDispatcher


class ReplayStatus(Enum):
    """Whether a context is replaying recorded operations or running new ones."""

    REPLAY = "REPLAY"
    NEW = "NEW"


class Checkpointer(Protocol):
    """The checkpoint writer as the operations see it (`perdure.sdk.batcher`)."""

    def checkpoint(self, update: OperationUpdate | None, *, sync: bool) -> None:
        """Record `update` (None: fetch the latest state); with `sync`, return once merged."""
        ...

    def acheckpoint(self, update: OperationUpdate | None) -> Awaitable[None]:
        """Record `update`; the awaitable is done once it is merged (the async face)."""
        ...

    def acheckpoint_alone(
        self, update: OperationUpdate | None, loop: asyncio.AbstractEventLoop
    ) -> Awaitable[None] | None:
        """`acheckpoint` from the only task of `loop`: None when merged already."""
        ...


def fetch_state_pages(
    client: DurableServiceClient, arn: str, token: str, marker: str | None
) -> list[Operation]:
    """Every operation of the pages from `marker` on (`GetDurableExecutionState`).

    Raises:
        GetExecutionStateError: classified as retryable or not (official rules).
    """
    operations: list[Operation] = []
    while marker:
        try:
            page = client.get_durable_execution_state(
                GetDurableExecutionStateRequest(
                    durable_execution_arn=arn, checkpoint_token=token, marker=marker, max_items=MAX_STATE_PAGE
                )
            )
        except GetExecutionStateError:
            raise
        except Exception as exc:
            raise GetExecutionStateError.from_exception(
                exc, f"GetDurableExecutionState failed: {exc}"
            ) from exc
        operations.extend(page.operations)
        marker = page.next_marker
    return operations


class ExecutionState:
    """The operations recorded for one execution, as this invocation knows them.

    Args:
        durable_execution_arn: the execution's ARN.
        operations: the recorded operations.
    """

    def __init__(
        self,
        durable_execution_arn: str,
        operations: Iterable[Operation] = (),
        *,
        clock: Clock = SYSTEM_CLOCK,
        plugins: PluginDispatcher = NO_PLUGINS,
    ) -> None:
        self.durable_execution_arn = durable_execution_arn
        self.clock = clock
        """Every time read of this invocation (`perdure.sdk.clock`)."""
        self.plugins = plugins
        """The invocation's plugin hooks (`perdure.sdk.plugin`)."""
        self.operations: dict[str, Operation] = {}
        self.checkpointer: Checkpointer | None = None
        """The checkpoint writer; attached by the `Invocation` that owns both."""
        self.cleanup = ExitStack()
        """The invocation's cleanup: closed (newest first) when the handler has ended,
        before the checkpoint writer stops (`perdure.sdk.invocation`)."""
        self.merge(operations)

    @classmethod
    def load(
        cls,
        durable_execution_arn: str,
        initial: InitialExecutionState,
        client: DurableServiceClient,
        checkpoint_token: str,
        *,
        clock: Clock = SYSTEM_CLOCK,
        plugins: PluginDispatcher = NO_PLUGINS,
    ) -> ExecutionState:
        """The state of an invocation: its initial operations plus every further page."""
        state = cls(durable_execution_arn, initial.operations, clock=clock, plugins=plugins)
        state.merge(fetch_state_pages(client, durable_execution_arn, checkpoint_token, initial.next_marker))
        return state

    # ------------------------------------------------------------------------ reads

    def get(self, operation_id: str) -> Operation | None:
        """The recorded operation with this id, if any."""
        return self.operations.get(operation_id)

    def has_replay_operations(self) -> bool:
        """Whether anything besides the EXECUTION operation is recorded (so the root replays)."""
        return any(op.type is not OperationType.EXECUTION for op in self.operations.values())

    def execution_operation(self) -> Operation | None:
        """The EXECUTION operation (its id is the ARN's last segment)."""
        op = self.operations.get(self.durable_execution_arn.rsplit("/", 1)[-1])
        if op is not None:
            return op
        for candidate in self.operations.values():
            if candidate.type is OperationType.EXECUTION:
                return candidate
        return None

    # ----------------------------------------------------------------------- writes

    def merge(self, operations: Iterable[Operation]) -> None:
        """Replace whole entries by id (the service's copy always wins).

        Operations whose status changed are reported to the plugins (a queue put).
        """
        ops = self.operations
        changed: list[Operation] = []
        for op in operations:
            previous = ops.get(op.id)
            ops[op.id] = op
            if previous is None or previous.status is not op.status:
                changed.append(op)
        if changed:
            self.plugins.operations_changed(changed)

    def create_checkpoint(self, update: OperationUpdate | None = None, *, is_sync: bool = True) -> None:
        """Hand `update` to the checkpoint writer (blocking until merged when `is_sync`).

        `None` sends a request without updates, to fetch the latest state.
        """
        if self.checkpointer is None:
            raise RuntimeError("no checkpoint writer is attached to this execution state")
        self.checkpointer.checkpoint(update, sync=is_sync)

    def acheckpoint(self, update: OperationUpdate | None = None) -> Awaitable[None]:
        """Hand `update` to the checkpoint writer; await the result to know it is merged."""
        if self.checkpointer is None:
            raise RuntimeError("no checkpoint writer is attached to this execution state")
        return self.checkpointer.acheckpoint(update)

    def acheckpoint_alone(
        self, update: OperationUpdate | None, loop: asyncio.AbstractEventLoop
    ) -> Awaitable[None] | None:
        """`acheckpoint` from the only task of `loop`, the running loop: the writer may send the update
        on the loop's thread (`CheckpointBatcher.acheckpoint_alone`); then it is merged
        when this returns, and the result is None."""
        if self.checkpointer is None:
            raise RuntimeError("no checkpoint writer is attached to this execution state")
        return self.checkpointer.acheckpoint_alone(update, loop)

    def on_close(self, hook: Callable[[], None]) -> None:
        """Run `hook` when the invocation ends, before the checkpoint writer stops.

        For work that must finish while checkpoints can still be written (e.g. joining the
        threads of a map or parallel). Hooks run last-registered first.
        """
        self.cleanup.callback(hook)


def identity_mismatches(
    checkpoint: Operation,
    operation_type: OperationType,
    sub_type: str | None,
    name: str | None,
    parent_id: str | None,
) -> list[str]:
    """How a recorded operation's identity differs from the code now running (the one
    comparison every non-determinism check uses: type, sub-type, name, parent; "" and
    None are the same). Empty when it does not."""
    if (
        checkpoint.type is operation_type
        and (checkpoint.sub_type or None) == (sub_type or None)
        and (checkpoint.name or None) == (name or None)
        and (checkpoint.parent_id or None) == (parent_id or None)
    ):
        return []
    mismatches: list[str] = []
    if checkpoint.type is not operation_type:
        mismatches.append(f"type checkpoint={checkpoint.type.value!r} current={operation_type.value!r}")
    if (checkpoint.sub_type or None) != (sub_type or None):
        mismatches.append(f"subtype checkpoint={checkpoint.sub_type!r} current={sub_type!r}")
    if (checkpoint.name or None) != (name or None):
        mismatches.append(f"name checkpoint={checkpoint.name or None!r} current={name or None!r}")
    if (checkpoint.parent_id or None) != (parent_id or None):
        mismatches.append(
            f"parent_id checkpoint={checkpoint.parent_id or None!r} current={parent_id or None!r}"
        )
    return mismatches


def check_identity(
    checkpoint: Operation,
    operation_id: str,
    operation_type: OperationType,
    sub_type: str | None,
    name: str | None,
    parent_id: str | None,
) -> None:
    """Reject a recorded operation whose identity differs from the code now running.

    Raises:
        NonDeterministicExecutionError: naming the operation id and, for each differing
            field, the checkpointed and the current value.
    """
    mismatches = identity_mismatches(checkpoint, operation_type, sub_type, name, parent_id)
    if mismatches:
        raise NonDeterministicExecutionError(
            f"Non-deterministic operation identity at id={operation_id!r}: {', '.join(mismatches)}",
            step_id=operation_id,
        )


def is_terminal(op: Operation | None) -> bool:
    """Whether `op` exists and has finished."""
    return op is not None and op.status.is_terminal


__all__ = [
    "Checkpointer",
    "ExecutionState",
    "OperationStatus",
    "ReplayStatus",
    "check_identity",
    "fetch_state_pages",
    "identity_mismatches",
    "is_terminal",
]
