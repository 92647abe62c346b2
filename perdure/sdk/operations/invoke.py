"""The chained invoke operation: start another durable function and wait for its result.

Owns `InvokeOperation` (the official SDK 3.0's semantics):
- no record: serialize the payload (`InvokeConfig.serdes_payload`, default plain JSON;
  over 256 KiB raises `SerDesError` before anything is sent), ask the plugins for
  propagation metadata (a trace id), sync CHAINED_INVOKE START with
  `ChainedInvokeOptions{FunctionName, TenantId, XAmznTraceId}`, then check again: the
  response may already be terminal (an unknown function fails at once);
- STARTED: suspend until the service re-invokes (the invoked execution ended);
- SUCCEEDED: the result, deserialized with `InvokeConfig.serdes_result` (default plain
  JSON; no result gives None);
- FAILED / TIMED_OUT / STOPPED: `InvokeError` with the invoked function's error type and
  message, rebuilt from the record on the first run and on every replay alike.
Only a new START asks the plugins for metadata: a replayed invoke keeps its record.
Imports only `perdure.wire`, `perdure.sdk` modules below the context, and the stdlib.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from perdure.wire.limits import MAX_CHAINED_INVOKE_PAYLOAD_BYTES
from perdure.wire.types import (
    ChainedInvokeOptions,
    Operation,
    OperationAction,
    OperationStatus,
    OperationSubType,
    OperationType,
)

from ..config import InvokeConfig
from ..errors import InvokeError, raise_operation_error
from ..payloads import check_payload_size
from ..serdes import DEFAULT_JSON_SERDES, deserialize, serialize
from ..state import ExecutionState
from ._base import CheckResult, Flow, OperationExecutor, OperationIdentity, Scope, validate_name
from ._suspend import suspend_for

P = TypeVar("P")
R = TypeVar("R")

_FAILED = frozenset({OperationStatus.FAILED, OperationStatus.TIMED_OUT, OperationStatus.STOPPED})


class InvokeOperation(OperationExecutor[R], Generic[P, R]):
    """Invokes `function_name` with `payload` (see the module docstring).

    Args:
        function_name: the function to invoke (name, function ARN or qualified ARN).
        payload: its input.
        config: serdes for the payload and the result, tenant id.
        state: the replay state.
        identity: the operation's identity.
    """

    def __init__(
        self,
        function_name: str,
        payload: P,
        config: InvokeConfig[P, R],
        state: ExecutionState,
        identity: OperationIdentity,
    ) -> None:
        super().__init__(state, identity)
        self.function_name = function_name
        self.payload = payload
        self.config = config

    def check_result_status(self) -> Flow[CheckResult[R]]:
        op = self.checkpoint()
        if op is None:
            yield from self._start()
            return CheckResult.started()
        if op.status is OperationStatus.SUCCEEDED:
            return CheckResult.completed(self._result_of(op))
        if op.status in _FAILED:
            details = op.chained_invoke_details
            raise_operation_error(details.error if details else None, InvokeError)
        return CheckResult.ready(op)

    def _start(self) -> Flow[None]:
        identity = self.identity
        arn = self.state.durable_execution_arn
        payload = serialize(
            self.config.serdes_payload or DEFAULT_JSON_SERDES, self.payload, identity.operation_id, arn
        )
        check_payload_size(
            "invoke",
            identity.operation_id,
            identity.name,
            payload,
            what="payload",
            limit=MAX_CHAINED_INVOKE_PAYLOAD_BYTES,
            limit_name="limit of a chained invoke payload",
            advice="send a smaller payload, or pass a reference (an offloading serdes such as"
            " perdure.OffloadSerDes stores the value elsewhere and sends a reference)",
        )
        metadata = self.state.plugins.propagation_metadata(identity, self.function_name)
        yield from self.send(
            OperationAction.START,
            payload=payload,
            chained_invoke_options=ChainedInvokeOptions(
                function_name=self.function_name,
                tenant_id=self.config.tenant_id,
                x_amzn_trace_id=metadata.x_amzn_trace_id,
            ),
        )

    def _result_of(self, op: Operation) -> R | None:
        details = op.chained_invoke_details
        if details is None or details.result is None:
            return None
        value: R = deserialize(
            self.config.serdes_result or DEFAULT_JSON_SERDES,
            details.result,
            self.identity.operation_id,
            self.state.durable_execution_arn,
        )
        return value

    def execute(self, checkpoint: Operation | None) -> Flow[R]:
        label = self.identity.name or self.identity.operation_id
        suspend_for(f"invoke {label} of {self.function_name} is running", None, self.state.clock)
        yield  # a flow (never reached)


def invoke_operation(
    scope: Scope, function_name: str, payload: P, name: str | None, config: InvokeConfig[P, R] | None
) -> InvokeOperation[P, R]:
    """The chained invoke `context.invoke(function_name, payload, name, config)` runs.

    Raises:
        ValidationError: the name is invalid.
    """
    validate_name("operation name", name)
    identity = scope.new_identity(OperationType.CHAINED_INVOKE, OperationSubType.CHAINED_INVOKE.value, name)
    return InvokeOperation(function_name, payload, config or InvokeConfig(), scope.state, identity)
