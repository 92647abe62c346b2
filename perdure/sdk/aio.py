"""The asyncio face: `AsyncDurableContext`, the async driver of operation flows, and the
process's event loop.

Owns what differs when a handler is `async def`, and nothing else: each operation is the
same object the sync face runs (built by the same `*_operation` function of its module),
its flow driven here with awaits instead of blocking calls (`AsyncRuntime.drive`). Map
and parallel branches are tasks on the loop under the same completion policies
(`perdure.sdk.concurrency_async`). Imports only `perdure.wire`, the `perdure.sdk` modules
below the contexts and the standard library.

Rules of the face (docs/sdk.md, "The async face"):
- an operation method is a plain `def`: it takes the operation's id when it is called and
  returns an `OperationTask`, already scheduled, so ids follow call order whatever
  finishes first;
- `async def` bodies run on the loop; a sync step body (or check, or submitter) runs on a
  worker thread of the process's budget (`perdure.sdk.threads`);
- suspension stays a `BaseException` on the loop, given to the operation only once no
  other operation is busy (a step's function running, a checkpoint awaited; `AsyncRuntime.held`),
  so a step beside a wait is never cut short; when the handler ends, operations still
  running are cancelled and awaited (after the busy ones finish, when it suspended), and
  sync bodies still running on threads are joined, before the checkpoint writer stops;
- misuse fails the execution with `DurableUsageError` naming the operation (an operation
  never awaited, a context used outside its loop, an operation started inside a step's
  `async def` function); cancelling a running operation
  (`asyncio.timeout`, `wait_for`, `Task.cancel`) fails it with `OperationCancelledError`,
  since the race would go another way on replay.

Threads: one event loop per process, on its own daemon thread, kept across invocations
(a module-level `httpx.AsyncClient` keeps working from one invocation to the next). The
sync Lambda entry point hands the handler's coroutine to it and blocks for the result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import logging
import threading
import time
import types
from collections.abc import Awaitable, Callable, Generator, Sequence
from datetime import timedelta
from types import CoroutineType
from typing import Any, Generic, NoReturn, TypeVar, overload

from perdure.wire.types import OperationSubType, OperationType

from .batch import BatchResult, BatchType
from .completion import BatchItemStatus, MapConfig, ParallelBranch, ParallelConfig
from .concurrency_async import AsyncConcurrentExecutor
from .config import CallbackConfig, ChildConfig, Duration, InvokeConfig, StepConfig, WaitForCallbackConfig
from .context import is_async_callable
from .errors import (
    ChildContextError,
    DurableUsageError,
    OperationCancelledError,
    SuspendExecution,
)
from .invocation import Invocation, is_suspension
from .operations._base import Checkpoint, Flow, OperationExecutor, OperationIdentity, Request, UserCall
from .operations._batch import BatchRun, MissingOutcome, Replayer, replay_batch
from .operations.callback import Callback, callback_operation
from .operations.child_context import child_operation
from .operations.invoke import invoke_operation
from .operations.map import DEFAULT_MAP_CONFIG, map_branches
from .operations.parallel import DEFAULT_PARALLEL_CONFIG, parallel_branches
from .operations.step import step_operation
from .operations.wait import wait_operation
from .operations.wait_for_callback import translated, wait_for_callback_operation
from .operations.wait_for_condition import wait_for_condition_operation
from .scope import ContextScope
from .state import ReplayStatus
from .threads import run_off_loop
from .types import StepContext, WaitForCallbackContext, WaitForConditionCheckContext
from .waits import WaitForConditionConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")
U = TypeVar("U")
PayloadT = TypeVar("PayloadT")
ResultT = TypeVar("ResultT")

_WAIT_FOR_CALLBACK = OperationSubType.WAIT_FOR_CALLBACK.value
_STEP = OperationType.STEP
_IN_STEP: contextvars.ContextVar[OperationIdentity | None] = contextvars.ContextVar(
    "perdure_in_step", default=None
)
"""The step (or check, or submitter) whose `async def` function the current task is
running: no durable operation may start there (`refuse_inside_step`)."""


# --------------------------------------------------------------------- the task


_future_await = asyncio.Future.__await__


class OperationTask(asyncio.Future[T], Generic[T]):
    """A durable operation of the invocation's loop: await it for its value.

    An `asyncio.Future`, so `asyncio.gather`, `wait`, `wait_for` and `as_completed` take it
    as it is. The operation's synchronous part ran when it was called (a replayed operation
    is done at once, without a task or a turn of the loop). When it waits for a checkpoint
    or runs user code, the task that awaits it continues it, if it is awaited before any
    other operation started later (``await context.step(...)``: no task of its own);
    otherwise a task of its own does, made by a callback of the loop. Cancelling this
    future cancels the task that continues it. Until its outcome is consumed (awaited,
    gathered, its result read) the runtime holds it (`AsyncRuntime.unconsumed`), so an
    operation the handler forgot to await is reported by name.
    """

    # Slots, set by `AsyncRuntime.spawn` without an `__init__` of this class: a Python
    # `__init__` over the C future's, and a dict for these fields, cost more than half of
    # making the task (about 4.5 K instructions of a W1async step's 550 K).
    __slots__ = ("identity", "runner", "runtime", "unstarted")

    runtime: AsyncRuntime
    identity: OperationIdentity
    runner: asyncio.Task[Any] | None
    """The task continuing the operation (None: it finished when it was called, or it has
    not started yet)."""
    unstarted: tuple[Any, ...] | None
    """The rest of the operation (`AsyncRuntime.drive_from`'s arguments, this task the
    last), while no task continues it yet: it is continued by a task made by a callback of
    the loop (`AsyncRuntime._start_pending`), unless it is awaited first."""

    def __await__(self) -> Generator[Any, None, T]:
        runtime = self.runtime
        if _IN_STEP.get() is not None and not self.done():
            runtime.refuse_inside_step(self.label, "awaited")  # it could be waiting for this step
        runtime.unconsumed.pop(self, None)
        rest = self.unstarted
        if rest is not None and runtime.unstarted == 1:
            # Awaited before its task was made, and no other operation waits to start
            # before it: the awaiting task continues it itself (no task of its own, two
            # turns of the loop fewer); cancelling this future cancels the awaiting task.
            self.unstarted = None
            runtime.unstarted -= 1
            self.runner = _current_task(runtime.loop)
            runtime.driving.add(self)
            yield from runtime.drive_from(*rest)
        return (yield from _future_await(self))  # `super().__await__()` costs 0.9 K instructions more

    __iter__ = __await__

    @property
    def consumed(self) -> bool:
        """Its outcome was consumed (awaited, gathered, its result read)."""
        return self not in self.runtime.unconsumed

    @property
    def label(self) -> str:
        """The operation, for messages (``step 'charge' (id 1ced...)``)."""
        return _label(self.identity)

    def result(self) -> T:
        self.runtime.unconsumed.pop(self, None)
        return super().result()

    def exception(self) -> BaseException | None:
        self.runtime.unconsumed.pop(self, None)
        return super().exception()

    def add_done_callback(
        self, fn: Callable[[Any], object], *, context: contextvars.Context | None = None
    ) -> None:
        runtime = self.runtime
        if _IN_STEP.get() is not None and not self.done():  # `gather`, `wait`, `shield` inside a step
            runtime.refuse_inside_step(self.label, "awaited")
        runtime.unconsumed.pop(self, None)  # gather, wait and wait_for register a callback
        super().add_done_callback(fn, context=context)

    def cancel(self, msg: Any | None = None) -> bool:
        if self.done():
            return False  # (its runner may be the task that awaited it, and goes on)
        runtime = self.runtime
        runtime.unconsumed.pop(self, None)  # cancelling it decides what becomes of it
        runner = self.runner
        if runner is not None and not runner.done():
            runner.cancel(msg)
        elif self in runtime.held:
            # Waiting to suspend: it stays so, and suspends once nothing is busy (a `wait_for`
            # or `asyncio.timeout` around it does not fire: a replay, where it suspends at
            # once, goes the same way). A handler that ends otherwise went on past it
            # (`main`).
            if not (runtime.closing or runtime.suspending):
                runtime.cancelled_while_waiting(self)
            return True
        elif self in runtime.deferred and not runtime.closing:
            runtime.cancelled_while_waiting(self)  # likewise: on replay it would have run
        return super().cancel(msg)


def _task_lookup() -> Callable[[asyncio.AbstractEventLoop], asyncio.Task[Any] | None]:
    """`asyncio.current_task` without its Python frame where the interpreter allows: C on
    3.12 and later; on 3.11, the C dict it reads (about 0.8 K instructions a W1async step)."""
    import _asyncio

    current: Callable[[asyncio.AbstractEventLoop], asyncio.Task[Any] | None] | None = getattr(
        _asyncio, "current_task", None
    )
    if current is not None:
        return current
    by_loop = getattr(asyncio.tasks, "_current_tasks", None)
    if type(by_loop) is dict:
        return by_loop.get
    return asyncio.current_task


_current_task = _task_lookup()


def _started(task: asyncio.Task[Any]) -> bool:
    """Whether `task`'s coroutine has begun to run."""
    coro = task.get_coro()
    try:
        return inspect.getcoroutinestate(coro) != inspect.CORO_CREATED  # type: ignore[arg-type]
    except AttributeError:  # not a native coroutine
        return True


_future_exception = asyncio.Future.exception


def _silence(future: asyncio.Future[Any]) -> None:
    """A suspension nobody awaits (its handler ended at another one) is not logged as an
    exception never retrieved; reading it here consumes nothing (`AsyncRuntime.unconsumed`)."""
    _future_exception(future)


def _left(scope: AsyncDurableContext, flip_after: bool) -> None:
    """An operation that will never run leaves the replay boundary it entered when called."""
    if flip_after or scope._replaying:
        scope.leave(flip_after)


def _held_label(future: asyncio.Future[Any]) -> str:
    return future.label if isinstance(future, OperationTask) else "a callback's result"


def _label(identity: OperationIdentity) -> str:
    kind = (identity.sub_type or identity.operation_type.value).lower()
    named = f" {identity.name!r}" if identity.name else ""
    return f"{kind}{named} (id {identity.operation_id})"


# ------------------------------------------------------------------ the runtime


class AsyncRuntime:
    """The async face's part of one invocation, living on the process's loop.

    Args:
        invocation: the invocation (its state; its cleanup joins sync bodies on threads).
        loop: the process's event loop.
    """

    def __init__(self, invocation: Invocation, loop: asyncio.AbstractEventLoop) -> None:
        self.invocation = invocation
        self.state = invocation.state
        self.loop = loop
        self.tasks: set[asyncio.Task[Any]] = set()
        """Every task of this invocation not yet done (operations and batch branches)."""
        self.unconsumed: dict[OperationTask[Any], None] = {}
        """The operations whose outcome was not consumed yet, in call order: the handler
        must have consumed them all when it returns. Only these are held: a W1async run
        that kept every operation paid for them in the garbage collector's passes (3.7 K
        instructions a step at 1,000 steps, more at 5,000)."""
        self.unstarted = 0
        """Operations waiting for a task to continue them (`OperationTask.unstarted`)."""
        self.closing = False
        """The handler has ended: cancellations from here on are the runtime's own."""
        self.suspending = False
        """An operation suspended: the invocation ends, cancelling siblings is expected."""
        self.busy = 0
        """Operations waiting for a checkpoint's answer or running a step's function (a check,
        a submitter): a suspension is held while there are any (`held`), and an invocation
        that suspends lets them finish (`main`)."""
        self.held: dict[asyncio.Future[Any], BaseException] = {}
        """Operations (and callback results) that suspended while others were busy, with
        their suspensions: given to them once nothing is busy (`_release`), so that a step
        running beside a wait (``gather(ctx.wait(...), ctx.step(...))``) ends before the
        invocation does."""
        self.releasing = False
        """A `_release` is scheduled."""
        self.idle: asyncio.Future[None] | None = None
        """What `main` awaits while busy operations finish."""
        self.refused: list[OperationTask[Any]] = []
        """Operations called after the handler ended: never started (`spawn`)."""
        self.deferred: dict[OperationTask[Any], tuple[Any, ...]] = {}
        """Operations called after a suspension that ends the invocation was given, with what
        `_begin` takes after the task: started only if the handler still runs
        `DEFER_SECONDS` later."""
        self.deferral: asyncio.TimerHandle | None = None
        """Starts the `deferred` operations (`_start_deferred`)."""
        self.driving: set[OperationTask[Any]] = set()
        """Operations continued by the task that awaited them at once (`OperationTask.__await__`),
        until they end: when the handler has ended, that task is cancelled (`main`)."""
        self.cancelled_waiting: list[OperationTask[Any]] = []
        """Operations cancelled while they held their suspension, or waited to start after one
        was given (`OperationTask.cancel`)."""
        self.begun = 0
        """Operations begun (`_begin`) so far; `begun_then` when the first above was cancelled."""
        self.begun_then = 0
        self.ended = False
        """`main` has cancelled what was left: an operation called now is cancelled at once."""
        self.warning: asyncio.TimerHandle | None = None
        """Logs a suspension held, or a suspended handler waiting for busy operations, for
        `HELD_WARNING_SECONDS` (`hold`, `main`)."""
        self.failure: BaseException | None = None
        """A misuse seen on the loop; it becomes the invocation's outcome."""
        self.turn_due = 0.0
        """When a task alone on the loop next gives the loop a turn (`drive_from`)."""
        self.to_start: list[OperationTask[Any]] = []
        """Operations called since the loop last ran `_start_pending`, in call order: every
        operation still waiting for a task is among them."""
        self.threads: set[concurrent.futures.Future[Any]] = set()
        invocation.cleanup.callback(self._join_threads)
        self.thread_id = _loop_thread.ident if _loop_thread is not None else None
        """The loop's thread: an operation called on another thread is a misuse (no other
        loop can run on this one's thread)."""
        if self.thread_id is not None:
            invocation.serve_loop(loop, self.thread_id)

    # --------------------------------------------------------------- tasks

    def track(self, task: asyncio.Task[Any]) -> None:
        """Count `task` among the invocation's tasks until it is done."""
        self.tasks.add(task)
        # The base class's method: registering this callback does not consume the outcome.
        asyncio.Task.add_done_callback(task, self.tasks.discard)

    def spawn(
        self,
        scope: AsyncDurableContext,
        operation: OperationExecutor[Any],
        then: Callable[[Any], T] | None = None,
    ) -> OperationTask[T]:
        """Start `operation` of `scope` (its id is already taken): run its flow up to its
        first I/O now, and continue it in a task if it has one; `then` maps its value."""
        if threading.get_ident() != self.thread_id:
            raise self._recorded(
                DurableUsageError(
                    f"{_label(operation.identity)} was called outside the invocation's event loop (from a"
                    " sync step body, another thread or another loop): an AsyncDurableContext is used only"
                    " by the async code of its own handler"
                )
            )
        identity = operation.identity
        if _IN_STEP.get() is not None:
            self.refuse_inside_step(_label(identity))
        # `enter` changes nothing outside a replay (and `_settle` skips `leave` likewise).
        flip_after = scope.enter(identity) if scope._replaying else False
        # The running loop, `self.loop` (checked above): without the `loop` keyword, the
        # future's C init reads it without a dict of keywords (0.7 K instructions).
        task: OperationTask[T] = OperationTask()
        task.runtime = self
        task.identity = identity
        task.runner = None
        task.unstarted = None
        if self.closing or self.suspending:
            if self.closing:
                # The handler has ended (`main` lets busy operations finish): an operation a
                # leftover task calls now never starts; it is cancelled with the others, or
                # at once when `main` has cancelled them already.
                if self.ended:
                    super(OperationTask, task).cancel()
                else:
                    self.refused.append(task)
                return task
            # A suspension that ends the invocation was given: the task calling this (a
            # `TaskGroup`'s other one, say) is about to be cancelled, and would cut the
            # operation short. It starts only if the handler is still running a while later
            # (the suspension was not passed on: `_start_deferred`).
            self.unconsumed[task] = None
            self.deferred[task] = (scope, operation, flip_after, then)
            if self.deferral is None:
                self.deferral = self.loop.call_later(DEFER_SECONDS, self._start_deferred)
            return task
        self.unconsumed[task] = None
        return self._begin(task, scope, operation, flip_after, then)

    def _begin(
        self,
        task: OperationTask[T],
        scope: AsyncDurableContext,
        operation: OperationExecutor[Any],
        flip_after: bool,
        then: Callable[[Any], T] | None,
    ) -> OperationTask[T]:
        """Run `operation`'s flow up to its first I/O; queue it to continue in a task."""
        self.begun += 1
        flow = operation.flow()
        try:
            request = flow.send(None)
        except StopIteration as stop:
            self._settle(task, scope, operation, flip_after, then, stop.value, None)
            return task
        except BaseException as exc:
            self._settle(task, scope, operation, flip_after, then, None, exc)
            return task
        task.unstarted = (flow, request, scope, operation, flip_after, then, task)
        self.unstarted += 1
        to_start = self.to_start
        if not to_start:  # one callback starts every operation called before it runs
            self.loop.call_soon(self._start_pending)
        to_start.append(task)
        return task

    def cancelled_while_waiting(self, task: OperationTask[Any]) -> None:
        """`task` was cancelled while it held its suspension or waited to start: a handler that
        goes on past it (returns, or begins another operation) fails (`main`)."""
        if not self.cancelled_waiting:
            self.begun_then = self.begun
        self.cancelled_waiting.append(task)

    def _start_deferred(self) -> None:
        """The handler still runs `DEFER_SECONDS` after a suspension was given: it did not end
        the invocation (nobody passed it on), so the operations called since start now."""
        self.deferral = None
        if self.closing:
            return
        deferred, self.deferred = self.deferred, {}
        waiting = [(task, entry) for task, entry in deferred.items() if not task.done()]
        for task, (scope, _, flip_after, _) in deferred.items():
            if task.done():
                _left(scope, flip_after)  # cancelled with its task: it never starts
        if waiting:  # (none: their tasks were cancelled, as the suspension ends the handler)
            self.suspending = False
        for task, (scope, operation, flip_after, then) in waiting:
            self._begin(task, scope, operation, flip_after, then)

    def refuse_inside_step(self, called: str, verb: str = "started") -> NoReturn:
        """Fail the execution: `called` was `verb` (started, awaited) inside a step's `async
        def` function.

        Recorded as the invocation's outcome too, so a body catching the error (an
        `except Exception`) cannot hide it.

        Raises:
            DurableUsageError: naming both operations.
        """
        inside = _IN_STEP.get()
        raise self._recorded(
            DurableUsageError(
                f"{called} was {verb} inside {_label(inside) if inside else 'a step'} (or a task it"
                " started): a step's function (a wait_for_condition check, a wait_for_callback"
                " submitter) cannot run or await durable operations: make them operations of the"
                " handler"
            )
        )

    def _recorded(self, error: DurableUsageError) -> DurableUsageError:
        """`error`, recorded as the invocation's outcome unless one is already (a misuse the
        user's code catches still fails the execution: the operation's id was taken)."""
        if self.failure is None:
            self.failure = error
        return error

    def _start_pending(self) -> None:
        to_start, self.to_start = self.to_start, []
        for task in to_start:
            if task.unstarted is not None:
                self._start(task)

    def _start(self, task: OperationTask[Any]) -> None:
        """Continue `task`'s operation in a task of its own (it was not awaited at once)."""
        rest = task.unstarted
        if rest is None:
            return
        task.unstarted = None
        self.unstarted -= 1
        if task.done():  # cancelled before it started: it never runs
            rest[0].close()
            return
        runner = self.loop.create_task(self._continue(*rest))
        task.runner = runner
        self.track(runner)
        asyncio.Task.add_done_callback(runner, lambda _: self._orphaned(task))

    def _orphaned(self, task: OperationTask[Any]) -> None:
        """`task`'s runner ended: an operation it never settled (cancelled before it began)
        is cancelled too, so what awaits it does not wait for ever."""
        if not task.done() and task not in self.held:
            super(OperationTask, task).cancel()

    async def _continue(self, *rest: Any) -> None:
        # A task's coroutine (asyncio takes no generator for one): `drive_from` does the work.
        await self.drive_from(*rest)

    def _settle(
        self,
        task: OperationTask[Any],
        scope: AsyncDurableContext,
        operation: OperationExecutor[Any],
        flip_after: bool,
        then: Callable[[Any], Any] | None,
        value: Any,
        error: BaseException | None,
    ) -> None:
        """End `operation`: leave the replay boundary and give `task` its outcome."""
        self.driving.discard(task)
        _left(scope, flip_after)
        if error is None and then is not None:
            try:
                value = then(value)
            except BaseException as exc:
                error = exc
        if error is None:
            if not task.done():
                task.set_result(value)
            return
        if isinstance(error, ChildContextError) and operation.identity.sub_type == _WAIT_FOR_CALLBACK:
            translated_error = translated(error)
            if translated_error is not error:
                translated_error.__suppress_context__ = True
                error = translated_error
        if isinstance(error, asyncio.CancelledError):
            if not (self.closing or self.suspending) and self.failure is None:
                self.failure = OperationCancelledError(
                    f"{_label(operation.identity)} was cancelled while it ran (asyncio.timeout, wait_for, "
                    "Task.cancel or a TaskGroup whose sibling failed): a replay could not reproduce "
                    "where it stopped, so the execution fails; put the timeout inside the step body "
                    "instead (a timed-out body is a failed attempt, retried by the retry strategy)",
                    operation.identity.operation_id,
                )
            if not task.done():
                super(OperationTask, task).cancel()
            return
        if is_suspension(error):
            if self.holds(scope):
                task.runner = None  # its flow has ended: cancelling it cancels the held suspension
                self.hold(task, error)
                return
            if not scope._in_batch or self.closing:  # a branch's suspension is its batch's
                self.suspending = True
            if not task.done():
                task.set_exception(error)
                _silence(task)
            return
        if not task.done():
            task.set_exception(error)

    def holds(self, scope: AsyncDurableContext) -> bool:
        """Whether a suspension in `scope` waits (`held`) until nothing is busy.

        Even when nothing is busy now, it waits a few turns of the loop (`_release_soon`):
        a task scheduled already (a `TaskGroup`'s or a `gather`'s next one) may start a step
        that a suspension given at once would cut short. Not held in a batch (its branch
        suspends at once: the batch waits for its running branches), nor once the handler
        has ended, nor when the checkpoint token was revoked (the invocation stops at once).
        """
        if getattr(self.state.checkpointer, "revoked", False):
            self._release()
            return False
        return not (scope._in_batch or self.closing)

    def hold(self, future: asyncio.Future[Any], suspension: BaseException) -> None:
        """Keep `suspension` from `future` until nothing is busy (`holds` said so)."""
        self.held[future] = suspension
        self._release_soon()
        if self.warning is None:
            self.warning = self.loop.call_later(HELD_WARNING_SECONDS, self._warn_held)

    def _warn_held(self) -> None:
        if self.busy and (self.held or self.closing):
            waiting = ", ".join(_held_label(future) for future in list(self.held)[:3]) or "the invocation"
            logger.warning(
                "%s has waited %d s to suspend while %d operation(s) of the invocation stay busy: a "
                "step's function that waits for the handler's own progress (a lock the handler holds "
                "across a wait, an event it sets after one) never ends",
                waiting,
                HELD_WARNING_SECONDS,
                self.busy,
            )

    def _idle(self) -> None:
        """No operation is busy any more (`busy`)."""
        if self.held:
            self._release_soon()
        idle = self.idle
        if idle is not None and not idle.done():
            idle.set_result(None)

    def _release_soon(self) -> None:
        """Check in a few turns of the loop whether the held suspensions can be given."""
        if not self.releasing:
            self.releasing = True
            self.loop.call_soon(self._release_when_idle, RELEASE_TURNS)

    def _release_when_idle(self, turns: int) -> None:
        if self.busy:
            self.releasing = False  # the last busy operation to end checks again
            return
        if turns or self.unstarted:
            # The tasks woken by what just ended may start operations (continuing a
            # `gather`ed coroutine, say): they run first, as the invocation would go on (an
            # operation waiting for its task is started within a turn; the tasks made since
            # have begun by the last turn).
            self.loop.call_soon(self._release_when_idle, max(turns - 1, 0))
            return
        self.releasing = False
        self._release()

    def _release(self) -> None:
        """Give every held operation its suspension."""
        held, self.held = self.held, {}
        if held:
            self.suspending = True
        for future, suspension in held.items():
            if not future.done():
                future.set_exception(suspension)
                _silence(future)

    async def drive(self, flow: Flow[T]) -> T:
        """Run `flow`, awaiting its checkpoints and its user code."""
        try:
            request = flow.send(None)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        return await self.drive_from(flow, request)

    @types.coroutine
    def drive_from(
        self,
        flow: Flow[T],
        request: Request,
        scope: AsyncDurableContext | None = None,
        operation: OperationExecutor[Any] | None = None,
        flip_after: bool = False,
        then: Callable[[Any], Any] | None = None,
        task: OperationTask[Any] | None = None,
    ) -> Generator[Any, None, T]:
        """Continue `flow` from its pending `request`: its value; or, given the `task` of
        `operation` (`spawn`'s, with its `scope`, `flip_after` and `then`), settle the task
        with its outcome (`_settle`) and return None.

        A generator-based coroutine (awaited, and continued with ``yield from`` by the task
        that awaits an operation at once), one frame for the driver and the settling: an
        ``async def`` of its own for each, awaited through the operation's ``__await__``,
        cost W1async two coroutines and their wrapper a step.
        """
        state = self.state
        loop = self.loop
        tasks = _tasks
        has_plugins = state.plugins.has_plugins
        checkpointer = state.checkpointer or state  # the state raises when there is none
        while True:
            value: Any = None
            error: BaseException | None = None
            # Busy: waiting for a checkpoint's answer, or running a step's function (not a
            # child context's or a batch's: their operations count for themselves).
            busy = type(request) is Checkpoint or request.identity.operation_type is _STEP  # type: ignore[union-attr]
            if busy:
                self.busy += 1
            try:
                if type(request) is Checkpoint:
                    if tasks.live == 1 and tasks.trusted:
                        # Alone on the loop (``await ctx.step(...)`` in sequence, no other
                        # execution on it), the update is sent on the loop's thread when the
                        # writer is idle and the service is in this process: no task could
                        # run while the loop waits. Callbacks could (another execution
                        # arriving, a protocol's I/O, timers): between checkpoints, the loop
                        # runs them at least every `LONE_TURN_SECONDS`.
                        ack = checkpointer.acheckpoint_alone(request.update, loop)
                        if ack is not None:
                            yield from ack.__await__()
                        now = time.monotonic()  # the loop's time, not the SDK's clock
                        if now >= self.turn_due:
                            self.turn_due = now + LONE_TURN_SECONDS
                            tasks.check(loop)
                            # A bare yield is `asyncio.sleep(0)` without its two frames. The
                            # first turn runs what was ready and polls; this task runs ahead of
                            # the I/O callbacks and timers that fell due, so a second turn runs
                            # them, when there are any: on asyncio's own loops they wait in its
                            # `_ready` queue (read only here; another loop gets the turn always).
                            # W1async's turns usually find nothing due, so most take one
                            # iteration of the loop instead of two.
                            yield
                            if getattr(loop, "_ready", True):
                                yield
                    else:
                        yield from state.acheckpoint(request.update).__await__()
                elif request.off_loop or has_plugins:  # type: ignore[union-attr]
                    value = yield from self.call(request)  # type: ignore[arg-type]
                else:  # `_call`'s on-loop case, without its frame
                    step = request.identity if request.identity.operation_type is _STEP else None  # type: ignore[union-attr]
                    token = _IN_STEP.set(step) if step is not None else None
                    try:
                        value = request.func()  # type: ignore[union-attr]
                        if type(value) is CoroutineType:
                            value = yield from value  # type: ignore[misc]
                        elif inspect.isawaitable(value):
                            value = yield from value.__await__()
                    finally:
                        if token is not None:
                            _IN_STEP.reset(token)
            except BaseException as exc:  # thrown into the flow, which decides
                error = exc
            if busy:
                self.busy -= 1
                if not self.busy and (self.held or self.idle is not None):
                    self._idle()
            try:
                request = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                if task is None:
                    return stop.value  # type: ignore[no-any-return]
                self._settle(task, scope, operation, flip_after, then, stop.value, None)  # type: ignore[arg-type]
                return None  # type: ignore[return-value]
            except BaseException as exc:
                if task is None:
                    raise
                self._settle(task, scope, operation, flip_after, then, None, exc)  # type: ignore[arg-type]
                if isinstance(exc, asyncio.CancelledError):
                    raise
                return None  # type: ignore[return-value]

    async def call(self, call: UserCall) -> Any:
        """Call user code: on the loop, or on a worker thread when `call.off_loop`."""
        plugins = self.state.plugins
        if not plugins.has_plugins:
            return await self._call(call)
        return await plugins.arun_user_function(
            call.identity,
            lambda: self._call(call),
            attempt=call.attempt,
            is_replay_children=call.is_replay_children,
        )

    async def _call(self, call: UserCall) -> Any:
        token = _IN_STEP.set(call.identity) if call.identity.operation_type is _STEP else None
        try:
            if call.off_loop:
                future = run_off_loop(call.func)
                self.threads.add(future)
                future.add_done_callback(self.threads.discard)
                result = await asyncio.wrap_future(future)
            else:
                result = call.func()
            if inspect.isawaitable(result):  # a sync function's awaitable runs here, marked too
                result = await result
        finally:
            if token is not None:
                _IN_STEP.reset(token)
        return result

    def _join_threads(self) -> None:
        # Sync bodies still running after the handler ended finish before the writer
        # stops (their checkpoints are then refused), as the sync face joins its branches.
        concurrent.futures.wait(list(self.threads))

    # ----------------------------------------------------------- the handler

    async def main(
        self, handler: Callable[[Any, Any], Awaitable[Any]], user_input: Any, root: AsyncDurableContext
    ) -> Any:
        """Await the handler; then end every task of the invocation (see the module doc)."""
        raised: BaseException | None = None
        result: Any = None
        _tasks.check(self.loop)
        try:
            result = await handler(user_input, root)
        except BaseException as exc:
            raised = exc
        for operation in self.to_start:  # each gets its task, cancelled with the others
            if operation.unstarted is not None:
                self._start(operation)
        self.closing = True
        if (
            raised is not None
            and is_suspension(raised)
            and not getattr(self.state.checkpointer, "revoked", False)
        ):
            # The operations still busy (a step whose wait beside it suspended, released by
            # a `gather` that returned at the first exception) finish, their checkpoints
            # written; what they wake cannot start another (`spawn`). Those that never ran
            # are cancelled first.
            for runner in self.tasks:
                if not runner.done() and not _started(runner):
                    runner.cancel()
            if self.busy:
                if self.warning is not None:
                    self.warning.cancel()
                self.warning = self.loop.call_later(HELD_WARNING_SECONDS, self._warn_held)
            while self.busy:
                self.idle = self.loop.create_future()
                await self.idle
            self.idle = None
        self.ended = True
        if self.warning is not None:
            self.warning.cancel()
        if self.deferral is not None:
            self.deferral.cancel()
        pending: list[asyncio.Future[Any]] = [task for task in self.tasks if not task.done()]
        # An operation a task of the user's code continues (awaited at once in a task the
        # handler left running): that task is cancelled with the others.
        me = _current_task(self.loop)
        pending += [op.runner for op in self.driving if op.runner not in (None, me) and not op.runner.done()]
        pending += [future for future in (*self.held, *self.refused) if not future.done()]
        for task, (scope, _, flip_after, _) in self.deferred.items():
            _left(scope, flip_after)
            if not task.done():  # (cancelled here, it stays unconsumed: a handler that returned
                super(OperationTask, task).cancel()  # without awaiting it is told so below)
        self.held.clear()
        for future in pending:
            future.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        # A misuse recorded on the loop wins over a suspension: the cancellations a
        # suspension causes are not recorded (`suspending` is set first), so one that was
        # happened before it (a step cancelled, then a wait).
        if self.failure is not None:
            raise self.failure
        if self.cancelled_waiting and (
            raised is None or (is_suspension(raised) and self.begun > self.begun_then)
        ):
            # The handler went on past a cancelled operation that would have suspended it, or
            # run (a task awaiting `wait_for` around it, cancelled itself): it returned, or began
            # another operation before suspending. A replay, where the operation does not wait,
            # could not go the same way. (A handler that fails anyway fails with its error; one
            # whose suspension it was ends as the suspension ends it.)
            cancelled = self.cancelled_waiting[0]
            raise OperationCancelledError(
                f"{cancelled.label} was cancelled while it waited (to suspend, or to start after a"
                " suspension was given), and the handler returned without suspending: a replay, where"
                " it does not wait, could not go the same way",
                cancelled.identity.operation_id,
            )
        if raised is not None:
            raise raised
        forgotten = [task.label for task in self.unconsumed]
        if forgotten:
            raise DurableUsageError(
                f"{', '.join(forgotten[:5])}{' and more' if len(forgotten) > 5 else ''} "
                f"{'was' if len(forgotten) == 1 else 'were'} created and never awaited before the handler "
                "returned: await every operation (or gather it), so replay sees the same operations"
            )
        return result


# ---------------------------------------------------------------- the event loop


DEFER_SECONDS = 0.1
"""How long an operation called after a suspension was given waits before it starts all the
same (`AsyncRuntime.spawn`): the task that called it is normally cancelled within a turn or
two, as the suspension ends the handler."""

HELD_WARNING_SECONDS = 60
"""A suspension held this long is logged (`AsyncRuntime.hold`)."""

RELEASE_TURNS = 2
"""Turns of the loop a held suspension waits once nothing is busy (`AsyncRuntime._release_soon`):
what the last busy operation's end wakes may start another, and the invocation goes on."""

LONE_TURN_SECONDS = 0.005
"""The longest a task alone on the loop keeps it while its checkpoints commit on the loop's
thread, before it lets the loop run what else is due."""


class _TaskCount:
    """The tasks of the process's loop not yet done, counted by its task factory (every
    `create_task`, `gather` of coroutines, `TaskGroup` and `run_coroutine_threadsafe` makes
    its tasks through it; one built by calling `asyncio.Task` itself is not counted). The
    count is trusted only while `installed` is the loop's factory (`check`ed when an
    invocation starts and at a lone task's turns). Touched only on the loop's thread."""

    __slots__ = ("installed", "live", "trusted")

    def __init__(self) -> None:
        self.live = 0
        self.installed = self.factory
        self.trusted = True
        """The loop's factory was `installed` when last checked (`check`)."""

    def check(self, loop: asyncio.AbstractEventLoop) -> None:
        """Distrust the count for good once the loop's factory has been replaced."""
        if self.trusted and loop.get_task_factory() is not self.installed:
            self.trusted = False

    def factory(self, loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, **kwargs)
        self.live += 1
        asyncio.Task.add_done_callback(task, self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.live -= 1


_loop: asyncio.AbstractEventLoop | None = None
_loop_thread: threading.Thread | None = None
_loop_lock = threading.Lock()
_tasks = _TaskCount()


def process_loop() -> asyncio.AbstractEventLoop:
    """The process's event loop, started on its own daemon thread on first use."""
    global _loop, _loop_thread, _tasks
    with _loop_lock:
        if _loop is None or _loop.is_closed() or _loop_thread is None or not _loop_thread.is_alive():
            loop = asyncio.new_event_loop()
            _tasks = _TaskCount()
            loop.set_task_factory(_tasks.installed)
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            thread = threading.Thread(target=serve, name="perdure-event-loop", daemon=True)
            thread.start()
            ready.wait()
            _loop, _loop_thread = loop, thread
        return _loop


def run_async_handler(
    handler: Callable[[Any, Any], Awaitable[Any]],
    user_input: Any,
    invocation: Invocation,
    lambda_context: Any,
    replay: ReplayStatus,
) -> Any:
    """Run the `async def` handler on the process's loop; its value, or raise its error.

    Raises:
        DurableUsageError: called from the process's loop itself (it would wait for itself).
    """
    loop = process_loop()
    if threading.current_thread() is _loop_thread:
        raise DurableUsageError(
            "a durable handler was invoked synchronously from perdure's event loop: invoke it "
            "from another thread (the Lambda entry point blocks until the handler ends)"
        )
    runtime = AsyncRuntime(invocation, loop)
    root = AsyncDurableContext.from_lambda_context(invocation.state, lambda_context, replay)
    root._runtime = runtime
    return asyncio.run_coroutine_threadsafe(runtime.main(handler, user_input, root), loop).result()


# ------------------------------------------------------------------- the context


class AsyncCallback(Generic[T]):
    """A callback created by `AsyncDurableContext.create_callback`.

    Attributes:
        callback_id: the id the service issued; hand it to the external system.
        operation_id: the CALLBACK operation's id.
    """

    def __init__(self, callback: Callback[T], runtime: AsyncRuntime, scope: AsyncDurableContext) -> None:
        self._callback = callback
        self._runtime = runtime
        self._scope = scope
        self.callback_id = callback.callback_id
        self.operation_id = callback.operation_id

    async def result(self) -> T | None:
        """The callback's result; suspends the execution until it has one (see
        `Callback.result`)."""
        runtime = self._runtime
        try:
            return self._callback.result()
        except SuspendExecution as suspension:
            if _IN_STEP.get() is not None:  # it would wait for what waits for this step
                runtime.refuse_inside_step(f"the result of callback {self.operation_id}", "awaited")
            if not runtime.holds(self._scope):
                raise
            while True:
                held: asyncio.Future[T | None] = runtime.loop.create_future()
                runtime.hold(held, suspension)
                try:
                    return await held  # raises the suspension once nothing is busy
                except asyncio.CancelledError:
                    if runtime.held.pop(held, None) is None:
                        raise  # the invocation's end
                    # Cancelled while it waits to suspend: it goes on waiting (as an operation does).


class AsyncDurableContext(ContextScope):
    """The durable operations available to an `async def` handler (and its child contexts).

    The parameters, configs, results and errors are the sync face's (`DurableContext`);
    each method takes its operation's id when called and returns an `OperationTask` to
    await. Created by `durable_execution`; user code does not construct it.

    Attributes:
        state: the execution's replay state.
        execution_context: facts about the execution (`durable_execution_arn`).
        lambda_context: the Lambda context object the handler was invoked with.
        logger: a replay-aware logger (silent while this context replays).
    """

    _runtime: AsyncRuntime
    _in_batch = False
    """The context is a batch's or inside one (a suspension there is its batch's to handle)."""

    def create_child_context(self, operation_id: str, *, is_virtual: bool = False) -> AsyncDurableContext:
        child = super().create_child_context(operation_id, is_virtual=is_virtual)
        child._runtime = self._runtime
        child._in_batch = self._in_batch
        return child

    def _spawn(self, operation: OperationExecutor[T]) -> OperationTask[T]:
        return self._runtime.spawn(self, operation)

    # -------------------------------------------------------------- operations

    @overload
    def step(
        self,
        func: Callable[[StepContext], Awaitable[T]],
        name: str | None = None,
        config: StepConfig | None = None,
    ) -> OperationTask[T]: ...

    @overload
    def step(
        self, func: Callable[[StepContext], T], name: str | None = None, config: StepConfig | None = None
    ) -> OperationTask[T]: ...

    def step(
        self, func: Callable[[StepContext], Any], name: str | None = None, config: StepConfig | None = None
    ) -> OperationTask[Any]:
        """Run `func` as a durable step (see `DurableContext.step`).

        An `async def` body (or a `@durable_step` one) runs on the loop; a sync body runs on
        a worker thread, so it may block.
        """
        return self._runtime.spawn(
            self, step_operation(self, func, name, config, off_loop=not is_async_callable(func))
        )

    def wait(self, duration: Duration | timedelta, name: str | None = None) -> OperationTask[None]:
        """Suspend the execution for `duration` (see `DurableContext.wait`)."""
        return self._spawn(wait_operation(self, duration, name))

    def run_in_child_context(
        self,
        func: Callable[[AsyncDurableContext], Awaitable[T]],
        name: str | None = None,
        config: ChildConfig[T] | None = None,
    ) -> OperationTask[T]:
        """Run ``await func(child_context)`` under one CONTEXT operation (see
        `DurableContext.run_in_child_context`)."""
        operation: OperationExecutor[Any] = child_operation(self, func, name, config)
        return self._spawn(operation)

    def parallel(
        self,
        functions: Sequence[Callable[[AsyncDurableContext], Awaitable[T]] | ParallelBranch[Any]],
        name: str | None = None,
        config: ParallelConfig | None = None,
    ) -> OperationTask[BatchResult[T]]:
        """Run `functions` concurrently as tasks, each in its own child context (see
        `DurableContext.parallel`)."""
        branches = parallel_branches(functions)
        return self._batch(
            BatchRun(self, BatchType.PARALLEL, name, branches, config or DEFAULT_PARALLEL_CONFIG)
        )

    def map(
        self,
        inputs: Sequence[U],
        func: Callable[[AsyncDurableContext, U, int, Sequence[U]], Awaitable[T]],
        name: str | None = None,
        config: MapConfig[U] | None = None,
    ) -> OperationTask[BatchResult[T]]:
        """Run ``await func(context, item, index, inputs)`` for every item as tasks, each in
        its own child context (see `DurableContext.map`)."""
        name = name or getattr(func, "_original_name", None)
        active: MapConfig[U] = config if config is not None else DEFAULT_MAP_CONFIG
        branches = map_branches(inputs, func, active)
        return self._batch(BatchRun(self, BatchType.MAP, name, branches, active))

    def _batch(self, batch: BatchRun) -> OperationTask[BatchResult[Any]]:
        runtime = self._runtime
        batch_context = batch.runner.batch_context
        if isinstance(batch_context, AsyncDurableContext):
            batch_context._in_batch = True

        async def body() -> BatchResult[Any]:
            record = batch.replay_record()
            if record is not None:
                return await _areplay(runtime, batch, record)
            executor = AsyncConcurrentExecutor(runtime, batch.runner, batch.completion, batch.max_concurrency)
            return await executor.execute()

        return runtime.spawn(self, batch.operation(body), batch.checked)

    def create_callback(
        self, name: str | None = None, config: CallbackConfig | None = None
    ) -> OperationTask[AsyncCallback[Any]]:
        """Create a callback (see `DurableContext.create_callback`); ``await`` it for an
        `AsyncCallback`, whose ``await cb.result()`` waits for the outcome."""
        runtime = self._runtime
        return runtime.spawn(
            self,
            callback_operation(self, name, config),
            lambda callback: AsyncCallback(callback, runtime, self),
        )

    def wait_for_callback(
        self,
        submitter: Callable[[str, WaitForCallbackContext], Any],
        name: str | None = None,
        config: WaitForCallbackConfig | None = None,
    ) -> OperationTask[Any]:
        """Create a callback, run `submitter(callback_id, context)` (sync or async) as a
        step, and wait for the result (see `DurableContext.wait_for_callback`)."""
        name = name or getattr(submitter, "_original_name", None)

        async def body(child: AsyncDurableContext) -> Any:
            prefix = f"{name} " if name else ""
            callback = await child.create_callback(name=f"{prefix}create callback id", config=config)
            asynchronous = is_async_callable(submitter)

            def submit(step_context: StepContext) -> Any:
                return submitter(callback.callback_id, WaitForCallbackContext(logger=step_context.logger))

            submit._is_async = asynchronous  # type: ignore[attr-defined]
            step_config = (
                StepConfig(retry_strategy=config.retry_strategy, serdes=config.serdes)
                if config is not None
                else None
            )
            await child.step(submit, name=f"{prefix}submitter", config=step_config)
            return await callback.result()

        return self._spawn(wait_for_callback_operation(self, body, name, submitter))

    def wait_for_condition(
        self,
        check: Callable[[T, WaitForConditionCheckContext], T]
        | Callable[[T, WaitForConditionCheckContext], Awaitable[T]],
        config: WaitForConditionConfig[T],
        name: str | None = None,
    ) -> OperationTask[T]:
        """Poll `check` (sync or async) until the wait strategy stops (see
        `DurableContext.wait_for_condition`)."""
        return self._spawn(
            wait_for_condition_operation(self, check, config, name, off_loop=not is_async_callable(check))
        )

    def invoke(
        self,
        function_name: str,
        payload: PayloadT,
        name: str | None = None,
        config: InvokeConfig[PayloadT, ResultT] | None = None,
    ) -> OperationTask[ResultT]:
        """Invoke another durable function and await its result (see `DurableContext.invoke`)."""
        return self._spawn(invoke_operation(self, function_name, payload, name, config))


async def _areplay(runtime: AsyncRuntime, batch: BatchRun, record: Any) -> BatchResult[Any]:
    """`replay_batch` on the async face: a branch that must re-run is awaited, then the
    result is rebuilt again (each branch re-runs at most once)."""
    runner = batch.runner
    replayer = Replayer(runner, runs_branches=False)
    while True:
        try:
            return replay_batch(runner, record, batch.completion, replayer)
        except MissingOutcome as missing:
            try:
                value = await runtime.drive(runner.operation(missing.index).flow())
            except BaseException as exc:
                replayer.settle(missing.index, Replayer.failed(exc))
            else:
                replayer.settle(missing.index, (BatchItemStatus.SUCCEEDED, value, None))
