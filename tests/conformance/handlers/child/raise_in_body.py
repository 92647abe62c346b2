"""3-15: a child body raises before any durable operation; the child and the execution fail."""

from __future__ import annotations

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> str:
    def body(child: DurableContext) -> str:
        raise LookupError("no such customer")

    return context.run_in_child_context(body, name="lookup_customer")
