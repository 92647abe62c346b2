"""3-4: a step inside a child context fails without retry; the child and the execution fail."""

from __future__ import annotations

from perdure import DurableContext, RetryPresets, StepConfig, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> str:
    def body(child: DurableContext) -> str:
        def broken(_: object) -> str:
            raise RuntimeError("inventory service rejected the request")

        return child.step(broken, config=StepConfig(retry_strategy=RetryPresets.none()))

    return context.run_in_child_context(body, name="reserve_inventory")
