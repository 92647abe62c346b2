"""What the AWS Lambda runtime gives a handler, for tests that run one against a local server.

`lambda_client` is a boto3 Lambda client for a local server; `LambdaEventInvocable`
invokes a handler as Lambda does, with the invocation input as a JSON event. No pytest
and nothing of perdure's SDK: `official/drive.py` uses them in the peer venv too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from perdure.link.inprocess import decode_output
from perdure.wire.codec import to_wire
from perdure.wire.types import InvocationInput, InvocationOutput


def lambda_client(url: str, **config: Any) -> Any:
    """A boto3 Lambda client for a local server (no retries, so errors surface at once)."""
    options: dict[str, Any] = {"retries": {"max_attempts": 1, "mode": "standard"}, "read_timeout": 30}
    options.update(config)
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(**options),
    )


class LambdaEventInvocable:
    """Invokes a handler as Lambda does: a JSON event in, the output dict back."""

    def __init__(self, handler: Callable[..., Any]) -> None:
        self.handler = handler
        self.tokens: list[str] = []
        """The checkpoint token of every invocation, in order (for the stale-token test)."""

    def __call__(self, input: InvocationInput, context: Any) -> InvocationOutput:
        self.tokens.append(input.checkpoint_token)
        event = json.loads(json.dumps(to_wire(input, timestamps="epoch_millis")))
        return decode_output(self.handler(event, context))
