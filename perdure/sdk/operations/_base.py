"""The one template every durable operation follows, and its identity value.

Owns `OperationIdentity` (id, type, sub-type, parent, name: what the replay check compares
and every update carries), `CheckResult` and `OperationExecutor`, whose `process()` is
"check the checkpoint -> maybe a sync START -> check again -> execute" (the double check:
a START's response may already carry a terminal status). Each operation module (step,
wait, child_context, callback, invoke, wait_for_condition) implements
`check_result_status()` and `execute()` only; wait_for_callback, map and parallel compose
those (map and parallel run as a child context, through `_batch`).

The template needs I/O in exactly two places: a sync checkpoint and a call of user code.
Each operation's logic is written once, as a generator (`Flow`) that yields those two
requests; the sync face drives it with blocking calls (`drive`), the async face with
awaits (`perdure.sdk.aio`). Nothing else differs between the faces. Imports only `perdure.wire`, `perdure.sdk.{errors,state,serdes}` and the
standard library.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterable
from types import CoroutineType
from typing import Any, Generic, Protocol, TypeVar

from perdure.wire.fast_init import value_type
from perdure.wire.limits import MAX_NAME_LENGTH
from perdure.wire.types import (
    CallbackOptions,
    ChainedInvokeOptions,
    ContextOptions,
    ErrorObject,
    Operation,
    OperationAction,
    OperationType,
    OperationUpdate,
    StepOptions,
    WaitOptions,
)

from ..errors import DurableUsageError, ValidationError
from ..logger import Logger
from ..state import ExecutionState, check_identity

T = TypeVar("T")


def refuse_factory(operation: str, func: object) -> None:
    """Refuse a function decorated with `@durable_step` (or `@durable_with_child_context`,
    `@durable_wait_for_callback`) given itself where the body calling it makes belongs:
    called with the context, the factory would return a function instead of running.

    Refuses as well a coroutine object (`helper()` of an `async def helper`) given where a
    function belongs: the body would be called and fail every attempt.

    Raises:
        DurableUsageError: naming the function and the call to write instead.
    """
    if type(func) is CoroutineType:
        name = func.__qualname__
        func.close()  # never awaited, and never to be: no "was never awaited" warning
        raise DurableUsageError(
            f"{operation} was given a coroutine, {name}(...) already called: pass the function"
            f" itself ({name}, called with the context), or a @durable_step factory's call"
        )
    made_by = getattr(func, "_factory_of", None)
    if made_by is not None:
        decorator, name = made_by
        raise DurableUsageError(
            f"{operation} was given the @{decorator} function {name!r} itself: pass {name}(...),"
            f" called with its arguments after the context (the decorator makes {name}(...) return"
            " the body to run)"
        )


def validate_name(what: str, name: str | None) -> None:
    """Reject a name the service would refuse (1-256 printable ASCII characters), before
    anything is checkpointed.

    Raises:
        ValidationError: naming `what`, the rule and the name.
    """
    if name is None:
        return
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"{what} must be at most {MAX_NAME_LENGTH} characters, got {len(name)}: {name[:40]!r}..."
        )
    if not name:
        raise ValidationError(f"{what} must not be empty (use None for no name)")
    if not (name.isascii() and name.isprintable()):
        bad = next(c for c in name if not (c.isascii() and c.isprintable()))
        raise ValidationError(
            f"{what} must be printable ASCII (the service's rule for names), got {bad!r} in {name[:40]!r}"
        )


@value_type
class OperationIdentity:
    """Who an operation is: replay compares all of it with the checkpoint."""

    operation_id: str
    operation_type: OperationType
    sub_type: str | None
    parent_id: str | None = None
    name: str | None = None

    def update(
        self,
        action: OperationAction,
        *,
        payload: str | None = None,
        error: ErrorObject | None = None,
        context_options: ContextOptions | None = None,
        step_options: StepOptions | None = None,
        wait_options: WaitOptions | None = None,
        callback_options: CallbackOptions | None = None,
        chained_invoke_options: ChainedInvokeOptions | None = None,
    ) -> OperationUpdate:
        """An update of this operation (the keywords are the other `OperationUpdate` members)."""
        # Positional, in the members' order: on Python 3.11 a class called with keywords
        # first packs them into a dict (every operation sends one or two updates).
        return OperationUpdate(
            self.operation_id,
            self.operation_type,
            action,
            self.parent_id,
            self.name,
            self.sub_type,
            payload,
            error,
            context_options,
            step_options,
            wait_options,
            callback_options,
            chained_invoke_options,
        )


class Scope(Protocol):
    """What an operation needs of the context that runs it (`perdure.sdk.scope.ContextScope`)."""

    @property
    def state(self) -> ExecutionState: ...

    @property
    def logger(self) -> Logger: ...

    def new_identity(
        self, operation_type: OperationType, sub_type: str, name: str | None
    ) -> OperationIdentity:
        """Allocate the next operation's identity."""
        ...

    def create_child_context(self, operation_id: str, *, is_virtual: bool = False) -> Any:
        """The child context (of the same face) of operation `operation_id`."""
        ...


class CheckResult(Generic[T]):
    """What a checkpoint check decided: done (with a value), run now, or re-check."""

    __slots__ = ("checkpoint", "is_completed", "is_started_sync", "value")

    def __init__(
        self,
        is_completed: bool = False,
        is_started_sync: bool = False,
        value: T | None = None,
        checkpoint: Operation | None = None,
    ) -> None:
        self.is_completed = is_completed
        self.is_started_sync = is_started_sync
        self.value = value
        self.checkpoint = checkpoint

    # The constructors below pass their arguments by position: on Python 3.11 a class called
    # with keywords first packs them into a dict.

    @classmethod
    def completed(cls, value: T | None) -> CheckResult[T]:
        """The operation is finished; `process()` returns `value`."""
        return cls(True, False, value)

    @classmethod
    def ready(cls, checkpoint: Operation | None) -> CheckResult[T]:
        """Run `execute(checkpoint)`."""
        return cls(False, False, None, checkpoint)

    @classmethod
    def started(cls) -> CheckResult[T]:
        """A sync START was just recorded: check again before executing."""
        return cls(False, True)


class Checkpoint:
    """A request of an operation's flow: persist `update` and merge the response before going on."""

    __slots__ = ("update",)

    def __init__(self, update: OperationUpdate) -> None:
        self.update = update


class UserCall:
    """A request of an operation's flow: call user code (between the plugins' hooks).

    Attributes:
        identity: the operation the code belongs to.
        func: the code, without arguments. On the async face its value may be awaitable
            (an `async def` body): the driver awaits it on the loop.
        off_loop: on the async face, call `func` on a worker thread (a sync step body
            must not block the event loop); the sync face ignores it.
        attempt: the attempt number the plugins report.
        is_replay_children: the plugins' flag for a child context re-run over its records.
    """

    __slots__ = ("attempt", "func", "identity", "is_replay_children", "off_loop")

    def __init__(
        self,
        identity: OperationIdentity,
        func: Callable[[], Any],
        off_loop: bool = False,
        attempt: int | None = None,
        is_replay_children: bool = False,
    ) -> None:
        self.identity = identity
        self.func = func
        self.off_loop = off_loop
        self.attempt = attempt
        self.is_replay_children = is_replay_children


Request = Checkpoint | UserCall
Flow = Generator[Request, Any, T]
"""An operation's logic as a generator: it yields the I/O it needs (a sync checkpoint, a
call of user code), the face's driver performs it (blocking on the sync face, awaiting on
the async face) and sends the value back, or throws the error in."""


def drive(flow: Flow[T], state: ExecutionState) -> T:
    """Run `flow` on the calling thread: checkpoints block, user code is called in place."""
    value: Any = None
    error: BaseException | None = None
    plugins = state.plugins
    while True:
        try:
            request = flow.send(value) if error is None else flow.throw(error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value = error = None
        try:
            if type(request) is Checkpoint:
                state.create_checkpoint(request.update, is_sync=True)
            else:
                call: UserCall = request  # type: ignore[assignment]
                if plugins.has_plugins:
                    value = plugins.run_user_function(
                        call.identity,
                        call.func,
                        attempt=call.attempt,
                        is_replay_children=call.is_replay_children,
                    )
                else:
                    value = call.func()
                if type(value) is CoroutineType:
                    value.close()
                    raise DurableUsageError(_async_on_sync_face(call.identity))
        except BaseException as exc:  # thrown into the flow, which decides
            error = exc


def _async_on_sync_face(identity: OperationIdentity) -> str:
    kind = (identity.sub_type or identity.operation_type.value).lower()
    named = f" {identity.name!r}" if identity.name else ""
    return (
        f"{kind}{named} (id {identity.operation_id}) got a coroutine from its function: the sync face "
        "(DurableContext) runs sync functions; make the handler `async def` to use AsyncDurableContext"
    )


class OperationExecutor(ABC, Generic[T]):
    """The check -> start -> re-check -> execute template.

    Args:
        state: the replay state (and the route to the checkpoint writer).
        identity: the operation's identity.
    """

    def __init__(self, state: ExecutionState, identity: OperationIdentity) -> None:
        self.state = state
        self.identity = identity
        self._validated = False

    def checkpoint(self) -> Operation | None:
        """The operation's record, identity-checked the first time it is read.

        Raises:
            NonDeterministicExecutionError: the record belongs to another operation.
        """
        op = self.state.operations.get(self.identity.operation_id)
        if op is not None and not self._validated:
            identity = self.identity
            check_identity(
                op,
                identity.operation_id,
                identity.operation_type,
                identity.sub_type,
                identity.name,
                identity.parent_id,
            )
            self._validated = True
        if op is not None:
            self.state.plugins.operation_observed(op)
        return op

    def send(self, action: OperationAction, *, sync: bool = True, **fields: Any) -> Iterable[Request]:
        """Checkpoint an update of this operation (plugins see a START before it is queued).

        Used as ``yield from self.send(...)``: an async update is queued at once (nothing to
        yield: an empty tuple, no generator); a sync one is yielded to the driver.
        """
        state = self.state
        plugins = state.plugins
        if plugins.has_plugins and action is OperationAction.START:
            plugins.operation_starting(self.identity, state.operations.get(self.identity.operation_id))
        update = self.identity.update(action, **fields)
        if not sync:
            state.create_checkpoint(update, is_sync=False)
            return ()
        if not plugins.has_plugins:
            return (Checkpoint(update),)  # nothing to do after the acknowledgement: no generator
        return self._acknowledged(update)

    def _acknowledged(self, update: OperationUpdate) -> Flow[None]:
        yield Checkpoint(update)
        plugins = self.state.plugins
        if plugins.has_plugins:
            op = self.state.operations.get(self.identity.operation_id)
            if op is not None:
                plugins.operation_observed(op)

    @abstractmethod
    def check_result_status(self) -> Flow[CheckResult[T]]:
        """Decide from the checkpoint: finished, run, or (after a sync START) re-check."""

    @abstractmethod
    def execute(self, checkpoint: Operation | None) -> Flow[T]:
        """Run the operation's body and record its outcome."""

    def flow(self) -> Flow[T]:
        """The template as a flow (see `Flow`)."""
        result = yield from self.check_result_status()
        if result.is_started_sync:
            result = yield from self.check_result_status()
        if result.is_completed:
            return result.value  # type: ignore[return-value]
        return (yield from self.execute(result.checkpoint))

    def process(self) -> T:
        """Run the template on the calling thread and return the operation's value."""
        return drive(self.flow(), self.state)
