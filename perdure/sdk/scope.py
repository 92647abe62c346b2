"""`ContextScope`: what both faces of a context are made of (the internal context protocol).

Owns a context's place in the execution: its operation-id counter, its parent, its replay
flag and the replay-status boundary around each operation, the logger, and the creation
of child scopes. `DurableContext` (the sync face) and `AsyncDurableContext` (the asyncio
face) are thin subclasses that add the public operation methods; operations, map and
parallel talk to a context only through the methods here (`new_identity`, `enter`,
`leave`, `create_child_context`, `mark_new`, `is_replaying`), never through its fields.
Imports only `perdure.wire`, the `perdure.sdk` modules below the contexts and the stdlib.

Replay status is tracked per context (as the official SDK 3.0 tracks it): a context starts replaying when
recorded operations exist, and flips to new when it reaches an operation without a record,
a non-terminal step (a retry), after a non-terminal resume point (a wait, an invoke, a child
context), or when the next operation has no record. A pending callback is not a resume point:
`create_callback` returns at once, so what follows it was recorded and still replays.
"""

from __future__ import annotations

import threading
from typing import Any, TypeVar

from perdure.wire.types import OperationSubType, OperationType

from .errors import DurableUsageError
from .ids import operation_id
from .logger import Logger, LoggerInterface, LogInfo, default_logger
from .operations._base import OperationIdentity
from .state import ExecutionState, ReplayStatus
from .types import ExecutionContext

_STEP = OperationType.STEP
_WAIT_FOR_CALLBACK = OperationSubType.WAIT_FOR_CALLBACK.value
"""The sub-type of `wait_for_callback`'s context, whose submitter runs as a step."""
_CALLBACK = OperationType.CALLBACK
ScopeT = TypeVar("ScopeT", bound="ContextScope")


class ContextScope:
    """A context's ids, parent and replay flag (see the module docstring).

    Attributes:
        state: the execution's replay state.
        execution_context: facts about the execution (`durable_execution_arn`).
        lambda_context: the Lambda context object the handler was invoked with.
        logger: a replay-aware logger (silent while this context replays).
    """

    def __init__(
        self,
        state: ExecutionState,
        execution_context: ExecutionContext,
        lambda_context: Any = None,
        parent_id: str | None = None,
        logger: Logger | None = None,
        step_id_prefix: str | None = None,
        replay_status: ReplayStatus = ReplayStatus.NEW,
        *,
        is_virtual: bool = False,
    ) -> None:
        self.state = state
        self.execution_context = execution_context
        self.lambda_context = lambda_context
        self._parent_id = parent_id
        self._step_id_prefix = step_id_prefix
        self._counter = 0
        self._counter_lock = threading.Lock()
        self._replaying = replay_status is ReplayStatus.REPLAY
        self._is_virtual = is_virtual
        self._running: OperationIdentity | None = None
        """The operation this context is running, on the sync face (whose operations run one
        at a time): a new operation of this context meanwhile is a misuse (`new_identity`)."""
        self._log_info = LogInfo(state.durable_execution_arn, parent_id)
        base = logger if logger is not None else Logger.from_log_info(default_logger(), self._log_info)
        self.logger: Logger = base.with_is_replaying(self.is_replaying)

    @classmethod
    def from_lambda_context(
        cls: type[ScopeT],
        state: ExecutionState,
        lambda_context: Any,
        replay_status: ReplayStatus = ReplayStatus.NEW,
    ) -> ScopeT:
        """The root context of an invocation."""
        return cls(
            state, ExecutionContext(state.durable_execution_arn), lambda_context, replay_status=replay_status
        )

    def create_child_context(self: ScopeT, operation_id: str, *, is_virtual: bool = False) -> ScopeT:
        """The context (of the same face) of the child operation `operation_id`.

        Args:
            operation_id: the owning operation; it prefixes every id inside the child.
            is_virtual: the child writes no CONTEXT operation; its operations report to
                this context's parent instead.
        """
        parent_id = self._parent_id if is_virtual else operation_id
        return type(self)(
            self.state,
            self.execution_context,
            self.lambda_context,
            parent_id=parent_id,
            logger=self.logger.with_log_info(LogInfo(self.state.durable_execution_arn, parent_id)),
            step_id_prefix=operation_id,
            replay_status=ReplayStatus.REPLAY if self._replaying else ReplayStatus.NEW,
            is_virtual=is_virtual,
        )

    # ------------------------------------------------------------------ status

    def is_replaying(self) -> bool:
        """Whether this context is replaying recorded operations."""
        return self._replaying

    def mark_new(self) -> None:
        """Stop replaying: what this context runs next is new work (its logs are not replays)."""
        self._replaying = False

    @property
    def is_virtual(self) -> bool:
        """Whether this context writes no CONTEXT operation of its own."""
        return self._is_virtual

    def set_logger(self, new_logger: LoggerInterface | Logger) -> None:
        """Send this context's log records to `new_logger` (still silent while replaying)."""
        self.logger = Logger.from_log_info(new_logger, self._log_info, self.is_replaying)

    # ----------------------------------------------------------- id allocation

    def _create_step_id(self) -> str:
        """Take the next operation id of this context."""
        with self._counter_lock:
            self._counter += 1
            position = self._counter
        return operation_id(self._step_id_prefix, position)

    def new_identity(
        self, operation_type: OperationType, sub_type: str, name: str | None
    ) -> OperationIdentity:
        """Allocate the next operation's identity in this context.

        Raises:
            DurableUsageError: the sync face's context is inside another of its operations (a
                step's function, or a child context, map item or branch, used this context).
        """
        if self._running is not None:
            raise DurableUsageError(_nested(self._running, sub_type, name))
        return OperationIdentity(self._create_step_id(), operation_type, sub_type, self._parent_id, name)

    # ------------------------------------------------------- replay boundary

    def enter(self, identity: OperationIdentity) -> bool:
        """Update the replay flag as operation `identity` begins.

        Returns:
            Whether `leave` must stop replaying whatever happens (a non-terminal resume
            point: what follows it is new).
        """
        if not self._replaying:
            return False
        op = self.state.operations.get(identity.operation_id)
        if op is None:
            self._replaying = False
        elif not op.status.is_terminal:
            if op.type is _STEP:
                self._replaying = False
            elif op.type is not _CALLBACK:
                return True
        return False

    def leave(self, flip_after: bool) -> None:
        """Update the replay flag as an operation ends (`flip_after` from `enter`)."""
        if flip_after or (
            self._replaying
            and operation_id(self._step_id_prefix, self._counter + 1) not in self.state.operations
        ):
            self._replaying = False


def _nested(running: OperationIdentity, sub_type: str, name: str | None) -> str:
    """The message of an operation started on a context while it runs `running`."""
    called = f"{sub_type} {name!r}" if name else sub_type
    inside = (
        f"{running.sub_type} {running.name!r}"
        if running.name
        else f"{running.sub_type} (id {running.operation_id})"
    )
    if running.operation_type is _STEP or running.sub_type == _WAIT_FOR_CALLBACK:
        advice = (
            "a step's function (a wait_for_condition check, a wait_for_callback submitter) cannot"
            " run durable operations: make them operations of the handler"
        )
    else:
        advice = (
            "a child context, a map item or a parallel branch must run its operations on the"
            " context it is given (its function's first argument), not on a context from outside it"
        )
    return f"{called} was started on a context that is running its {inside}: {advice}"


__all__ = ["ContextScope"]
