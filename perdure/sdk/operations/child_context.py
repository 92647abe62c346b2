"""The child-context operation: run a block of operations under their own CONTEXT.

Owns `ChildContextOperation` and `run_child` (also what map/parallel branches run).
- no record: CONTEXT START (async; none for a virtual context), run the body;
- SUCCEEDED: return the recorded result without running the body, unless the record
  says ReplayChildren (the result was too large): then the body runs again, its inner
  operations replay from their own records, and nothing new is written;
- FAILED: raise the recorded `ChildContextError`;
- body returns: SUCCEED with the serialized result; a result over 256 KiB (UTF-8) is
  recorded as `ReplayChildren=true` with the summary (`summary_generator(result)` or "");
- body raises: suspension, `ExecutionError` and retryable `InvocationError`s propagate;
  anything else is recorded as FAIL and raised as `ChildContextError`.
The first run returns the serdes round trip of the result, as replay does, converted to
the body's declared return type (`declared`, the rule steps follow). SUCCEED and
FAIL wait for the service's acknowledgement, except a map/parallel branch's
(`terminal_sync=False`: docs/concurrency.md explains why replay stays exact).

Imports only `perdure.wire`, `perdure.sdk` modules below the context, and the stdlib.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from perdure.wire.limits import MAX_OPERATION_PAYLOAD_BYTES, size_over
from perdure.wire.types import (
    ContextOptions,
    Operation,
    OperationAction,
    OperationStatus,
    OperationSubType,
    OperationType,
)

from ..config import ChildConfig
from ..errors import (
    ChildContextError,
    ExecutionError,
    NonDeterministicExecutionError,
    error_object_from_exception,
    raise_operation_error,
    retryable_invocation_error,
)
from ..payloads import check_payload_size
from ..serdes import as_declared, declared_result_type, deserialize, round_trip, serialize
from ..state import ExecutionState
from ._base import (
    CheckResult,
    Flow,
    OperationExecutor,
    OperationIdentity,
    Scope,
    UserCall,
    refuse_factory,
    validate_name,
)

_KIND = {
    OperationSubType.MAP.value: "map",
    OperationSubType.PARALLEL.value: "parallel",
    OperationSubType.WAIT_FOR_CALLBACK.value: "wait_for_callback",
}
"""How error messages name a CONTEXT operation, by sub-type (else "child context")."""

T = TypeVar("T")


class ChildContextOperation(OperationExecutor[T]):
    """Runs a child context (see the module docstring).

    Args:
        func: the body, already bound to the child `DurableContext`.
        config: the child options (serdes, summary generator, virtual).
        state: the replay state.
        identity: the CONTEXT operation's identity.
        terminal_sync: whether SUCCEED/FAIL wait for the service's acknowledgement. Only
            map/parallel branches pass False: their outcome reaches user code only through
            the batch's own (sync) terminal checkpoint, which the writer sends after them
            (docs/concurrency.md, "Why a branch's SUCCEED/FAIL is async").
        round_trip: whether the first run returns the serdes round trip of the result.
            Only a batch under the default serdes passes False: its branches each
            returned a round trip already, and the default serdes gives such values back
            unchanged, so the batch's own round trip (1.3 ms for 400 KB) would copy them.
        declared: the type the result is converted to, first run and replay alike
            (`perdure.sdk.serdes.as_type`); None: the result as the serdes decoded it.
    """

    def __init__(
        self,
        func: Callable[[], T],
        config: ChildConfig[Any],
        state: ExecutionState,
        identity: OperationIdentity,
        *,
        terminal_sync: bool = True,
        round_trip: bool = True,
        declared: Any = None,
    ) -> None:
        super().__init__(state, identity)
        self.func = func
        self.config = config
        self.terminal_sync = terminal_sync
        self.round_trip = round_trip
        self.declared = declared

    def check_result_status(self) -> Flow[CheckResult[T]]:
        op = self.checkpoint()
        if self.config.is_virtual and op is not None:
            raise NonDeterministicExecutionError(
                f"Non-deterministic child context at id={self.identity.operation_id!r}: the checkpoint "
                "holds a non-virtual child context but the current child context is virtual",
                self.identity.operation_id,
            )
        if op is None:
            if not self.config.is_virtual:
                yield from self.send(OperationAction.START, sync=False)
            return CheckResult.ready(None)
        details = op.context_details
        if op.status is OperationStatus.SUCCEEDED:
            if details is not None and details.replay_children:
                return CheckResult.ready(op)
            result = details.result if details is not None else None
            if result is None:
                return CheckResult.completed(None)
            value = deserialize(self.config.serdes, result, op.id, self.state.durable_execution_arn)
            return CheckResult.completed(self._typed(value) if self.declared is not None else value)
        if op.status is OperationStatus.FAILED:
            raise_operation_error(details.error if details else None, ChildContextError)
        return CheckResult.ready(op)

    def execute(self, checkpoint: Operation | None) -> Flow[T]:
        identity = self.identity
        arn = self.state.durable_execution_arn
        details = checkpoint.context_details if checkpoint is not None else None
        replaying_children = bool(details is not None and details.replay_children)
        plugins = self.state.plugins
        try:
            raw = yield UserCall(identity, self.func, is_replay_children=replaying_children)
            payload = serialize(self.config.serdes, raw, identity.operation_id, arn)
            value: Any = raw
            if self.round_trip:
                value = round_trip(self.config.serdes, raw, payload, identity.operation_id, arn)
                if self.declared is not None:
                    value = self._typed(value)
            if self.config.is_virtual or replaying_children:
                # No terminal checkpoint follows: the plugins hear of the end here.
                plugins.context_ended(identity, OperationStatus.SUCCEEDED, is_replayed=replaying_children)
                return value  # type: ignore[no-any-return]
            replay_children = size_over(payload, MAX_OPERATION_PAYLOAD_BYTES) is not None
            if replay_children:
                generator = self.config.summary_generator
                payload = generator(raw) if generator is not None else ""
                # The summary replaces the result in the checkpoint, so it must fit there.
                check_payload_size(
                    _KIND.get(identity.sub_type or "", "child context"),
                    identity.operation_id,
                    identity.name,
                    payload,
                    what="summary",
                    advice="the result is over it too, so the checkpoint carries the summary"
                    " instead: make summary_generator return less",
                )
            yield from self.send(
                OperationAction.SUCCEED,
                sync=self.terminal_sync,
                payload=payload,
                context_options=ContextOptions(replay_children=replay_children),
            )
            return value  # type: ignore[no-any-return]
        except ExecutionError:
            raise
        except Exception as exc:
            if retryable_invocation_error(exc) is not None:
                raise
            error = error_object_from_exception(exc)
            if not self.config.is_virtual:
                yield from self.send(OperationAction.FAIL, sync=self.terminal_sync, error=error)
            else:
                plugins.context_ended(identity, OperationStatus.FAILED, error=error)
            raise_operation_error(error, ChildContextError)

    def _typed(self, value: Any) -> Any:
        identity = self.identity
        kind = _KIND.get(identity.sub_type or "", "child context")
        return as_declared(
            value,
            self.declared,
            f"{kind} {identity.name or identity.operation_id!r} (id {identity.operation_id})",
        )


def run_child(
    func: Callable[[], T], config: ChildConfig[Any] | None, state: ExecutionState, identity: OperationIdentity
) -> T:
    """Run `func` as the child context `identity` (the entry point map/parallel use too)."""
    return ChildContextOperation(func, config or ChildConfig(), state, identity).process()


_DEFAULT_CONFIG: ChildConfig[Any] = ChildConfig()


def child_operation(
    scope: Scope, func: Callable[[Any], T], name: str | None, config: ChildConfig[T] | None
) -> ChildContextOperation[T]:
    """The child context `context.run_in_child_context(func, name, config)` runs (its id
    taken now); its body calls `func` with a child context of `scope`'s face.

    Raises:
        ValidationError: the name is invalid.
        DurableUsageError: `func` is a `@durable_with_child_context` function, not called.
    """
    refuse_factory("run_in_child_context", func)
    name = name or getattr(func, "_original_name", None)
    validate_name("operation name", name)
    active: ChildConfig[Any] = config or _DEFAULT_CONFIG
    identity = scope.new_identity(
        OperationType.CONTEXT, active.sub_type or OperationSubType.RUN_IN_CHILD_CONTEXT.value, name
    )
    child_id = identity.operation_id
    is_virtual = active.is_virtual

    def body() -> T:
        return func(scope.create_child_context(child_id, is_virtual=is_virtual))

    declared = declared_result_type(func, active.serdes)
    return ChildContextOperation(body, active, scope.state, identity, declared=declared)
