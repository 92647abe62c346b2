"""Handlers for the server fuzz test: executions that end, fail, wait for a callback, or hold a token."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from perdure import DurableContext, durable_execution


@durable_execution
def succeeds(event: Any, context: DurableContext) -> Any:
    """One step that returns the input."""
    return context.step(lambda _: {"echo": event}, name="echo")


@durable_execution
def fails(event: Any, context: DurableContext) -> Any:
    """One step, then a failure of the execution itself."""
    context.step(lambda _: 1, name="before")
    raise ValueError("failed on purpose")


@durable_execution
def approval(event: Any, context: DurableContext) -> Any:
    """Waits for a callback sent from outside."""
    callback = context.create_callback(name="approval")
    return {"answer": callback.result()}


HOLD_ENV = "PERDURE_FUZZ_HOLD"


def holder(event: Any, context: Any) -> dict[str, Any]:
    """Not a durable handler: it gets the invocation itself, hands its ARN and checkpoint
    token to the fuzzer (in `$PERDURE_FUZZ_HOLD/<execution name>.json`), and keeps the
    invocation open until the fuzzer creates `$PERDURE_FUZZ_HOLD/release`, so the fuzzer
    can send checkpoints the engine accepts. Then it ends the execution."""
    hold = Path(os.environ[HOLD_ENV])
    invocation = event.input
    name = invocation.durable_execution_arn.rsplit("/", 2)[-2]
    ready = hold / f"{name}.tmp"
    ready.write_text(
        json.dumps({"arn": invocation.durable_execution_arn, "token": invocation.checkpoint_token})
    )
    ready.replace(hold / f"{name}.json")
    release = hold / "release"
    deadline = time.monotonic() + 600
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return {"Status": "FAILED", "Error": {"ErrorType": "Released", "ErrorMessage": "released by the fuzzer"}}


# `perdure serve --function` wraps a plain function with `@durable_execution` unless it is
# wrapped already; this one must see the raw invocation, so it is marked as wrapped.
holder.__wrapped__ = holder  # type: ignore[attr-defined]
