"""The in-process link: the engine calls an SDK lambda handler directly.

The handler (an `@durable_execution` function) receives an `InvocationInputWithClient`
whose client is the engine's own service object, so checkpoints are plain method calls.
Its output dict is decoded with the wire codec.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from perdure.sdk.execution import InvocationInputWithClient
from perdure.wire.codec import from_wire
from perdure.wire.service import DurableServiceClient
from perdure.wire.types import InvocationInput, InvocationOutput

from .logs import running

LambdaHandler = Callable[[Any, Any], Any]


def decode_output(raw: Any) -> InvocationOutput:
    """The handler's return value as an `InvocationOutput` (a dict in the AWS shape)."""
    if isinstance(raw, InvocationOutput):
        return raw
    if not isinstance(raw, dict):
        raise TypeError(f"the handler returned {type(raw).__name__}, not the invocation output dict")
    return from_wire(InvocationOutput, raw, timestamps="epoch_millis")


class InProcessInvocable:
    """An engine `Invocable` that runs the handler on the calling thread."""

    def __init__(self, handler: LambdaHandler, client: DurableServiceClient) -> None:
        self.handler = handler
        self.client = client

    def __call__(self, input: InvocationInput, context: Any) -> InvocationOutput:
        with running(input.durable_execution_arn):
            raw = self.handler(InvocationInputWithClient(input=input, client=self.client), context)
        return decode_output(raw)
