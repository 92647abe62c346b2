"""3-5: a failing child context is caught; a recovery step returns the input."""

from __future__ import annotations

from perdure import DurableContext, RetryPresets, StepConfig, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    def body(child: DurableContext) -> str:
        def broken(_: object) -> str:
            raise RuntimeError("child work failed")

        return child.step(broken, config=StepConfig(retry_strategy=RetryPresets.none()))

    try:
        return context.run_in_child_context(body)
    except Exception:
        return context.step(lambda _: event)
