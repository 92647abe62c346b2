"""The service Protocols: what a durable-execution backend answers.

`DurableServiceClient` is the narrow interface the SDK needs during an invocation
(checkpoint, page the state). `DurableExecutionService` is the whole API: the engine
implements it, the HTTP server exposes it, the boto3 client forwards it to AWS. Method
names are boto3's, so each maps one-to-one onto an AWS operation.

Standard library only.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .types import (
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    GetDurableExecutionHistoryRequest,
    GetDurableExecutionHistoryResponse,
    GetDurableExecutionRequest,
    GetDurableExecutionResponse,
    GetDurableExecutionStateRequest,
    GetDurableExecutionStateResponse,
    InvokeRequest,
    InvokeResponse,
    ListDurableExecutionsByFunctionRequest,
    ListDurableExecutionsByFunctionResponse,
    SendDurableExecutionCallbackFailureRequest,
    SendDurableExecutionCallbackHeartbeatRequest,
    SendDurableExecutionCallbackSuccessRequest,
    StopDurableExecutionRequest,
    StopDurableExecutionResponse,
)


@runtime_checkable
class DurableServiceClient(Protocol):
    """The calls an SDK makes while it runs one invocation.

    A client may be called on any thread that checkpoints. One that answers in this process
    without waiting on perdure's event loop (the engine's service, the in-process link's
    client) says so with a class attribute ``answers_in_process = True``: an async handler's
    task alone on that loop then makes its checkpoint calls on the loop's own thread.
    """

    def checkpoint_durable_execution(
        self, request: CheckpointDurableExecutionRequest
    ) -> CheckpointDurableExecutionResponse: ...

    def get_durable_execution_state(
        self, request: GetDurableExecutionStateRequest
    ) -> GetDurableExecutionStateResponse: ...


@runtime_checkable
class DurableExecutionService(DurableServiceClient, Protocol):
    """The whole durable-execution API, plus `invoke` to start an execution."""

    def invoke(self, request: InvokeRequest) -> InvokeResponse: ...

    def get_durable_execution(self, request: GetDurableExecutionRequest) -> GetDurableExecutionResponse: ...

    def get_durable_execution_history(
        self, request: GetDurableExecutionHistoryRequest
    ) -> GetDurableExecutionHistoryResponse: ...

    def list_durable_executions_by_function(
        self, request: ListDurableExecutionsByFunctionRequest
    ) -> ListDurableExecutionsByFunctionResponse: ...

    def stop_durable_execution(
        self, request: StopDurableExecutionRequest
    ) -> StopDurableExecutionResponse: ...

    def send_durable_execution_callback_success(
        self, request: SendDurableExecutionCallbackSuccessRequest
    ) -> None: ...

    def send_durable_execution_callback_failure(
        self, request: SendDurableExecutionCallbackFailureRequest
    ) -> None: ...

    def send_durable_execution_callback_heartbeat(
        self, request: SendDurableExecutionCallbackHeartbeatRequest
    ) -> None: ...
