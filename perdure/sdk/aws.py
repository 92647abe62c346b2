"""The AWS backend: a `DurableServiceClient` over the boto3 Lambda client.

Owns `LambdaDurableServiceClient`. Requests and responses go through `perdure.wire.codec`
with `timestamps="datetime"` (boto3's shape). A failed call is translated once, here:
botocore's `ClientError` becomes the matching `perdure.wire.errors` service error (kept as
`__cause__`) and is raised as `CheckpointError` / `GetExecutionStateError`, classified
retryable or not with the official rules. boto3 is imported lazily, only when a default
client is needed; this module imports nothing else outside `perdure.wire` and
`perdure.sdk.errors`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from perdure.wire.codec import from_wire, to_wire
from perdure.wire.errors import ServiceError, service_error_for
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    GetDurableExecutionStateRequest,
    GetDurableExecutionStateResponse,
)

from .errors import BotoClientError, CheckpointError, GetExecutionStateError, client_error_parts

USER_AGENT = "perdure"


def service_error_from_boto(exc: BaseException) -> ServiceError | None:
    """The perdure service error for a botocore `ClientError` (None for other errors)."""
    error, _ = client_error_parts(exc)
    code = (error or {}).get("Code")
    if not code:
        return None
    return service_error_for(str(code), str((error or {}).get("Message") or ""))


def _translate(exc: Exception, error_cls: type[BotoClientError], operation: str) -> BotoClientError:
    return error_cls.from_exception(exc, f"{operation} failed: {exc}")


class LambdaDurableServiceClient:
    """Checkpoints and state pages through the AWS Lambda durable-execution API.

    Args:
        client: a boto3 ``lambda`` client.
    """

    _cached: ClassVar[Any] = None

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def default(cls) -> LambdaDurableServiceClient:
        """A client over a cached boto3 ``lambda`` client (created on first use)."""
        if cls._cached is None:
            import boto3
            from botocore.config import Config

            cls._cached = boto3.client(
                "lambda",
                config=Config(connect_timeout=5, read_timeout=50, user_agent_extra=USER_AGENT),
            )
        return cls(cls._cached)

    def checkpoint_durable_execution(
        self, request: CheckpointDurableExecutionRequest
    ) -> CheckpointDurableExecutionResponse:
        if not request.checkpoint_token:
            raise CheckpointError("cannot checkpoint without a checkpoint token")
        try:
            raw = self.client.checkpoint_durable_execution(**to_wire(request, timestamps="datetime"))
        except Exception as exc:
            cause = service_error_from_boto(exc) or exc
            raise _translate(exc, CheckpointError, "CheckpointDurableExecution") from cause
        return from_wire(CheckpointDurableExecutionResponse, raw, timestamps="datetime")

    def get_durable_execution_state(
        self, request: GetDurableExecutionStateRequest
    ) -> GetDurableExecutionStateResponse:
        if not request.checkpoint_token:
            raise GetExecutionStateError("cannot get the execution state without a checkpoint token")
        try:
            raw = self.client.get_durable_execution_state(**to_wire(request, timestamps="datetime"))
        except Exception as exc:
            cause = service_error_from_boto(exc) or exc
            raise _translate(exc, GetExecutionStateError, "GetDurableExecutionState") from cause
        return from_wire(GetDurableExecutionStateResponse, raw, timestamps="datetime")
