"""Handlers for the server fuzz test: executions that end, fail, or wait for a callback."""

from __future__ import annotations

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
