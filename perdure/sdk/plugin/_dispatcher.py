"""`PluginDispatcher`: runs one invocation's plugin hooks, and contains their failures.

The invocation owns one dispatcher (`perdure.sdk.execution` creates it and hangs it on
the `ExecutionState` as `state.plugins`); operations reach it through the state. With no
plugin factory every method returns at once, so a plugin-free execution pays one
attribute check per call site. Imports only `perdure.wire`, `perdure.sdk.errors`, the
plugin types and the standard library.

Who touches what:
- The plugin instances and the start info are built on the handler thread before the
  handler runs, and never change afterwards; every thread may read them.
- Hooks are plain calls on the thread that reaches them: invocation hooks on the handler
  thread; operation and user-function hooks on the thread running the operation.
- Which operations already had their end hook (and their replay start hook) is one small
  set of claims behind one lock: whoever claims an id first runs its hook, outside it.
- Change notifications come from the checkpoint thread; it only puts them on a queue.
  One "perdure-plugin-change" thread owns them: it merges what is queued into one
  notification and calls `on_operation_change`. Closing puts a sentinel and joins it.
"""

from __future__ import annotations

import copy
import datetime
import logging
import queue
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol, TypeVar

from perdure.wire.codec import from_wire
from perdure.wire.types import ErrorObject, InvocationOutput, Operation, OperationStatus, OperationType

from ..errors import error_object_from_exception
from ._types import (
    DurableInstrumentationPlugin,
    DurableInstrumentationPluginFactory,
    InvocationEndInfo,
    InvocationStartInfo,
    InvocationStatus,
    OperationChangeInfo,
    OperationEndInfo,
    OperationInfo,
    OperationStartInfo,
    PropagationInput,
    PropagationMetadata,
    UserFunctionEndInfo,
    UserFunctionOutcome,
    UserFunctionStartInfo,
)

T = TypeVar("T")

logger = logging.getLogger("perdure.sdk.plugin")

CONTROL_EXCEPTIONS = (KeyboardInterrupt, SystemExit, GeneratorExit)
"""Raised by plugin code, these tell the running thread to stop: they are not contained."""

_EXECUTION = OperationType.EXECUTION


class OperationIdentityLike(Protocol):
    """What the dispatcher reads of an operation's identity (`operations._base`)."""

    @property
    def operation_id(self) -> str: ...

    @property
    def operation_type(self) -> OperationType: ...

    @property
    def sub_type(self) -> str | None: ...

    @property
    def parent_id(self) -> str | None: ...

    @property
    def name(self) -> str | None: ...


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _type_name(value: object) -> str:
    # Read from the type: an instance's __getattr__ must not run while a failure is contained.
    try:
        return type(value).__qualname__
    except BaseException:  # a name is never worth failing for
        return "<unnamed>"


def _contain(error: BaseException, what: str, source: object) -> None:
    """Log a plugin failure; re-raise it if it tells the thread to stop."""
    if isinstance(error, CONTROL_EXCEPTIONS):
        raise error
    logger.error("%s raised by plugin %s ignored", what, _type_name(source), exc_info=error)


def _snapshot(operations: Mapping[str, Operation]) -> dict[str, OperationInfo]:
    # dict(...) of a dict copies without running Python code, so it is atomic under the
    # GIL even while the checkpoint thread assigns entries.
    return {op_id: OperationInfo.from_operation(op) for op_id, op in dict(operations).items()}


def _overrides(plugin: DurableInstrumentationPlugin, hook: str) -> bool:
    return getattr(type(plugin), hook, None) is not getattr(DurableInstrumentationPlugin, hook)


class PluginDispatcher:
    """The plugin hooks of one invocation (see the module docstring).

    Args:
        factories: the plugin factories (`load_configured_plugins`), in order.
    """

    def __init__(self, factories: Sequence[DurableInstrumentationPluginFactory] = ()) -> None:
        self._factories = tuple(factories)
        self._plugins: tuple[DurableInstrumentationPlugin, ...] = ()
        self.has_plugins = False
        """Whether any plugin serves this invocation (an attribute: every operation reads it)."""
        self._start_info: InvocationStartInfo | None = None
        self._operations: Mapping[str, Operation] = {}
        self._lock = threading.Lock()
        self._ended: set[str] = set()
        self._replay_pending: set[str] = set()
        self._branch_counts: dict[str, int] = {}
        self._changes: _ChangeWorker | None = None

    # ---------------------------------------------------------------- invocation

    def invocation_started(
        self,
        *,
        execution_arn: str,
        operations: Mapping[str, Operation],
        updated_operation_ids: Iterable[str],
        execution_input: Any,
        lambda_context: Any,
    ) -> None:
        """Build the invocation's plugins and run `on_invocation_start` (handler thread).

        Args:
            execution_arn: the execution.
            operations: the live operation map (read again for change and end infos).
            updated_operation_ids: the invocation input's `UpdatedOperationIds`.
            execution_input: the deserialized input (the plugins get a deep copy).
            lambda_context: the Lambda context (for the request id), if any.
        """
        if not self._factories:
            return
        self._operations = operations
        infos = _snapshot(operations)
        updated = {op_id for op_id in updated_operation_ids if op_id in infos}
        execution = next((op for op in operations.values() if op.type is _EXECUTION), None)
        info = InvocationStartInfo(
            request_id=getattr(lambda_context, "aws_request_id", None),
            execution_arn=execution_arn,
            is_first_invocation=all(op.type is _EXECUTION for op in operations.values()),
            execution_start_time=execution.start_timestamp if execution is not None else None,
            execution_input=self._copy_input(execution_input),
            operations=infos,
            updated_operations={op_id: infos[op_id] for op_id in updated},
        )
        self._start_info = info
        for op in operations.values():
            if op.type is _EXECUTION or op.id in updated:
                continue
            # A terminal record not updated while suspended had its end hook in the
            # invocation that completed it; a live one replays with a start hook.
            if op.status.is_terminal:
                self._ended.add(op.id)
            elif op.status is not OperationStatus.READY:
                self._replay_pending.add(op.id)
        plugins = self._create_plugins(info)
        if any(_overrides(plugin, "on_operation_change") for plugin in plugins):
            self._changes = _ChangeWorker(execution_arn, operations, self._deliver_change)
        started: list[DurableInstrumentationPlugin] = []
        try:
            for plugin in plugins:
                # Counted before the call: a start hook that fails may own state its end
                # hook releases.
                started.append(plugin)
                self._call(plugin, "on_invocation_start", info)
        finally:
            self._plugins = tuple(started)
            self.has_plugins = bool(self._plugins)

    def invocation_ended(self, output: Mapping[str, Any]) -> None:
        """Run `on_invocation_end` for the invocation output dict (handler thread)."""
        if not self._factories:
            return
        decoded = from_wire(InvocationOutput, dict(output), timestamps="epoch_millis")
        status = InvocationStatus(decoded.status.value)
        result = decoded.result if status is InvocationStatus.SUCCEEDED else None
        self._finish(status, decoded.error, result)

    def invocation_raised(self, exception: BaseException) -> None:
        """Run `on_invocation_end` with RETRY: the invocation raised (handler thread).

        Never raises: the invocation's own exception is what the caller must see.
        """
        if not self._factories:
            return
        try:
            self._finish(InvocationStatus.RETRY, error_object_from_exception(exception), None)
        except BaseException:  # the invocation's failure wins
            logger.exception("a plugin failed while the invocation was already failing")

    def _finish(self, status: InvocationStatus, error: ErrorObject | None, result: str | None) -> None:
        start = self._start_info
        if start is None:
            return
        changes, self._changes = self._changes, None
        if changes is not None:
            changes.close()
        if not self._plugins:
            return
        held: BaseException | None = None
        # Terminal operations no thread read in this invocation get their end hook here.
        for op in list(self._operations.values()):
            if op.type is not _EXECUTION and op.status.is_terminal:
                try:
                    self._operation_ended(op)
                except BaseException as exc:  # held: every plugin still ends
                    held = held or exc
        info = InvocationEndInfo(
            request_id=start.request_id,
            execution_arn=start.execution_arn,
            is_first_invocation=start.is_first_invocation,
            execution_start_time=start.execution_start_time,
            execution_input=start.execution_input,
            operations=_snapshot(self._operations),
            status=status,
            error=error,
            execution_result=result,
        )
        for plugin in self._plugins:
            try:
                self._call(plugin, "on_invocation_end", info)
            except BaseException as exc:  # held and re-raised below
                held = held or exc
        if held is not None:
            raise held

    # ----------------------------------------------------------------- operations

    def batch_declared(self, operation_id: str, branch_count: int) -> None:
        """A map or parallel declared its branches (before its start hook): the start info
        carries the count (`OperationStartInfo.branch_count`)."""
        if self._plugins:
            self._branch_counts[operation_id] = branch_count

    def operation_starting(self, identity: OperationIdentityLike, previous: Operation | None) -> None:
        """Run `on_operation_start` before a START of `identity` is checkpointed."""
        if not self._plugins:
            return
        self._fan_out(
            "on_operation_start",
            OperationStartInfo(
                operation_id=identity.operation_id,
                operation_type=identity.operation_type,
                sub_type=identity.sub_type,
                name=identity.name,
                parent_id=identity.parent_id,
                start_time=previous.start_timestamp if previous is not None else _now(),
                is_replayed=previous is not None,
                status=OperationStatus.STARTED,
                branch_count=self._branch_counts.get(identity.operation_id),
            ),
        )

    def operation_observed(self, op: Operation) -> None:
        """An operation thread read `op`: run its end hook, or its replay start hook, once."""
        if not self._plugins or op.type is _EXECUTION:
            return
        if op.status.is_terminal:
            self._operation_ended(op)
            return
        with self._lock:
            if op.id not in self._replay_pending:
                return
            self._replay_pending.discard(op.id)
        info = OperationStartInfo.from_operation(op, is_replayed=True)
        count = self._branch_counts.get(op.id)
        self._fan_out("on_operation_start", info if count is None else replace(info, branch_count=count))

    def _operation_ended(self, op: Operation) -> None:
        with self._lock:
            if op.id in self._ended:
                return
            self._ended.add(op.id)
        self._fan_out("on_operation_end", OperationEndInfo.from_operation(op))

    def context_ended(
        self,
        identity: OperationIdentityLike,
        status: OperationStatus,
        *,
        error: ErrorObject | None = None,
        is_replayed: bool = False,
    ) -> None:
        """Run `on_operation_end` for a child context that ended without a terminal record.

        A virtual context (no record at all) and a ReplayChildren context (its body runs
        again) report their end on every run.
        """
        if not self._plugins:
            return
        self._fan_out(
            "on_operation_end",
            OperationEndInfo(
                operation_id=identity.operation_id,
                operation_type=identity.operation_type,
                sub_type=identity.sub_type,
                name=identity.name,
                parent_id=identity.parent_id,
                start_time=None,
                is_replayed=is_replayed,
                status=status,
                end_time=_now(),
                error=error,
            ),
        )

    def run_user_function(
        self,
        identity: OperationIdentityLike,
        func: Callable[[], T],
        *,
        attempt: int | None = None,
        is_replay_children: bool = False,
    ) -> T:
        """Call `func` between `on_user_function_start` and `on_user_function_end`.

        The outcome is SUCCEEDED when it returns, FAILED when it raises an `Exception`,
        and INCOMPLETE when a control-flow signal (e.g. suspension) passes through.
        """
        if not self._plugins:
            return func()
        start = self._user_function_started(identity, attempt, is_replay_children)
        try:
            result = func()
        except BaseException as exc:
            self._user_function_ended(start, exc)
            raise
        self._user_function_ended(start, None)
        return result

    async def arun_user_function(
        self,
        identity: OperationIdentityLike,
        func: Callable[[], Awaitable[T]],
        *,
        attempt: int | None = None,
        is_replay_children: bool = False,
    ) -> T:
        """`run_user_function` for code that is awaited (the async face)."""
        if not self._plugins:
            return await func()
        start = self._user_function_started(identity, attempt, is_replay_children)
        try:
            result = await func()
        except BaseException as exc:
            self._user_function_ended(start, exc)
            raise
        self._user_function_ended(start, None)
        return result

    def _user_function_started(
        self, identity: OperationIdentityLike, attempt: int | None, is_replay_children: bool
    ) -> UserFunctionStartInfo:
        start = UserFunctionStartInfo(
            operation_id=identity.operation_id,
            operation_type=identity.operation_type,
            sub_type=identity.sub_type,
            name=identity.name,
            parent_id=identity.parent_id,
            start_time=_now(),
            is_replayed=False,
            status=OperationStatus.STARTED,
            attempt=attempt,
            is_replay_children=is_replay_children,
        )
        self._fan_out("on_user_function_start", start)
        return start

    def _user_function_ended(self, start: UserFunctionStartInfo, raised: BaseException | None) -> None:
        outcome = UserFunctionOutcome.SUCCEEDED
        error: ErrorObject | None = None
        if isinstance(raised, Exception):
            outcome = UserFunctionOutcome.FAILED
            error = error_object_from_exception(raised)
        elif raised is not None:
            outcome = UserFunctionOutcome.INCOMPLETE
        self._fan_out(
            "on_user_function_end",
            UserFunctionEndInfo(
                operation_id=start.operation_id,
                operation_type=start.operation_type,
                sub_type=start.sub_type,
                name=start.name,
                parent_id=start.parent_id,
                start_time=start.start_time,
                is_replayed=False,
                status=start.status,
                end_time=_now(),
                error=error,
                attempt=start.attempt,
                is_replay_children=start.is_replay_children,
                outcome=outcome,
            ),
        )

    def propagation_metadata(
        self, identity: OperationIdentityLike, target_function_name: str
    ) -> PropagationMetadata:
        """The metadata for a new chained invoke: the first non-blank value of each field."""
        if not self._plugins:
            return PropagationMetadata()
        start = self._start_info
        info = PropagationInput(
            execution_arn=(start.execution_arn if start is not None else None) or "",
            operation_id=identity.operation_id,
            target_function_name=target_function_name,
            parent_operation_id=identity.parent_id,
        )
        trace_id: str | None = None
        for plugin in self._plugins:
            try:
                metadata = plugin.provide_propagation_metadata(info)
            except BaseException as exc:  # contained below
                _contain(exc, "provide_propagation_metadata", plugin)
                continue
            value = getattr(metadata, "x_amzn_trace_id", None)
            if isinstance(value, str) and value.strip():
                trace_id = value
                break
        return PropagationMetadata(x_amzn_trace_id=trace_id)

    # -------------------------------------------------------------- change hooks

    def operations_changed(self, changed: Sequence[Operation]) -> None:
        """A checkpoint response changed these operations' statuses (checkpoint thread)."""
        changes = self._changes
        if changes is not None and changed:
            changes.submit(changed)

    def _deliver_change(self, updated: dict[str, Operation], operations: Mapping[str, Operation]) -> None:
        info = OperationChangeInfo(
            execution_arn=self._start_info.execution_arn if self._start_info else None,
            updated_operations={op_id: OperationInfo.from_operation(op) for op_id, op in updated.items()},
            operations=_snapshot(operations),
        )
        for plugin in self._plugins:
            try:
                self._call(plugin, "on_operation_change", info)
            except BaseException:  # nothing to hand it to on this thread
                logger.exception("plugin %s stopped on_operation_change", _type_name(plugin))

    # ------------------------------------------------------------------- helpers

    def _create_plugins(self, info: InvocationStartInfo) -> list[DurableInstrumentationPlugin]:
        plugins: list[DurableInstrumentationPlugin] = []
        for factory in self._factories:
            try:
                plugin = factory.create_plugin(info)
            except BaseException as exc:  # contained below
                _contain(exc, "create_plugin", factory)
                continue
            if not isinstance(plugin, DurableInstrumentationPlugin):
                logger.error(
                    "plugin factory %s returned %s, not a DurableInstrumentationPlugin; plugin ignored",
                    _type_name(factory),
                    _type_name(plugin),
                )
                continue
            plugins.append(plugin)
        return plugins

    @staticmethod
    def _copy_input(value: Any) -> Any:
        try:
            return copy.deepcopy(value)
        except Exception:  # the plugins get no input rather than a shared one
            logger.exception("cannot copy the execution input for plugins; they get None")
            return None

    @staticmethod
    def _call(plugin: DurableInstrumentationPlugin, hook: str, info: object) -> None:
        try:
            getattr(plugin, hook)(info)
        except BaseException as exc:  # contained below
            _contain(exc, hook, plugin)

    def _fan_out(self, hook: str, info: object) -> None:
        for plugin in self._plugins:
            self._call(plugin, hook, info)


class _ChangeWorker:
    """The one thread that delivers change notifications, fed through a queue.

    `submit` (checkpoint thread) only enqueues. The worker takes everything queued,
    merges it (the newest state of each operation wins) and delivers one notification,
    so at most one is being delivered and the rest wait merged in the queue.
    """

    def __init__(
        self,
        execution_arn: str,
        operations: Mapping[str, Operation],
        deliver: Callable[[dict[str, Operation], Mapping[str, Operation]], None],
    ) -> None:
        self._operations = operations
        self._deliver = deliver
        self._queue: queue.SimpleQueue[tuple[Operation, ...] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._run, name=f"perdure-plugin-change {execution_arn[-12:]}", daemon=True
        )
        self._thread.start()

    def submit(self, changed: Sequence[Operation]) -> None:
        self._queue.put(tuple(changed))

    def close(self) -> None:
        """Deliver what is queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        done = False
        while not done:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            updated: dict[str, Operation] = {}
            for item in batch:
                if item is None:
                    done = True
                else:
                    updated.update((op.id, op) for op in item)
            if updated:
                self._deliver(updated, self._operations)


NO_PLUGINS = PluginDispatcher()
"""The dispatcher of an execution state that has no plugins (every call returns at once)."""


__all__ = ["CONTROL_EXCEPTIONS", "NO_PLUGINS", "OperationIdentityLike", "PluginDispatcher"]
