"""The official SDK's in-process invocation input, accepted as the official SDK accepts it.

The official testing library's in-process runner (`DurableFunctionTestRunner`) calls a
handler with a `DurableExecutionInvocationInputWithClient`: the invocation input plus the
emulator's own service client, which takes and returns the official SDK's model objects
(`checkpoint(...)`, `get_execution_state(...)`). `perdure.sdk.execution` recognizes that
object by its ``service_client`` and imports this module then; `from_official_input` returns perdure's `InvocationInput` and a client: the input goes
through its JSON form (`to_json_dict`, the Lambda event) and the codec; the service client
is put behind `OfficialClientAsBoto3`, a boto3-shaped facade, so `LambdaDurableServiceClient`
talks to it exactly as it talks to AWS. The official package is imported only here, only
when such an object arrives (it is installed, since the object is one of its own).
Imports only `perdure.wire`, `perdure.sdk.aws` and the standard library.
"""

from __future__ import annotations

import importlib
from typing import Any

from perdure.wire.codec import from_wire
from perdure.wire.service import DurableServiceClient
from perdure.wire.types import InvocationInput

from .aws import LambdaDurableServiceClient

_OFFICIAL_MODEL = "aws_durable_execution_sdk_python.lambda_service"


def from_official_input(event: Any) -> tuple[InvocationInput, DurableServiceClient]:
    """perdure's invocation input and client for an official in-process invocation input.

    Raises:
        ValueError: the input's JSON form is not a valid invocation input.
    """
    raw = dict(event.to_json_dict())
    invocation = from_wire(InvocationInput, raw, timestamps="epoch_millis", path="invocation input")
    return invocation, LambdaDurableServiceClient(OfficialClientAsBoto3(event.service_client))


def _operations(operations: Any) -> list[dict[str, Any]]:
    return [dict(op.to_dict()) for op in operations or ()]


class OfficialClientAsBoto3:
    """The two boto3 ``lambda`` calls the SDK makes, over an official SDK service client.

    Requests arrive as boto3 keyword arguments (datetimes for timestamps) and become the
    official model objects; responses go back as boto3-shaped dicts.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._model = importlib.import_module(_OFFICIAL_MODEL)

    def checkpoint_durable_execution(self, **request: Any) -> dict[str, Any]:
        updates = [self._model.OperationUpdate.from_dict(update) for update in request.get("Updates", ())]
        output = self.client.checkpoint(
            durable_execution_arn=request["DurableExecutionArn"],
            checkpoint_token=request["CheckpointToken"],
            updates=updates,
            client_token=request.get("ClientToken"),
        )
        state = output.new_execution_state
        response: dict[str, Any] = {
            "NewExecutionState": {
                "Operations": _operations(getattr(state, "operations", ())),
                **({"NextMarker": state.next_marker} if getattr(state, "next_marker", None) else {}),
            }
        }
        if output.checkpoint_token is not None:
            response["CheckpointToken"] = output.checkpoint_token
        return response

    def get_durable_execution_state(self, **request: Any) -> dict[str, Any]:
        output = self.client.get_execution_state(
            durable_execution_arn=request["DurableExecutionArn"],
            checkpoint_token=request["CheckpointToken"],
            next_marker=request.get("Marker") or "",
            max_items=request.get("MaxItems") or 1000,
        )
        response: dict[str, Any] = {"Operations": _operations(output.operations)}
        if output.next_marker:
            response["NextMarker"] = output.next_marker
        return response
