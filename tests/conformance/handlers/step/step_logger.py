"""1-7: the step context logger writes structured records for the step."""

from __future__ import annotations

from perdure import DurableContext, StepContext, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    def greet(step_context: StepContext) -> str:
        step_context.logger.info(f"Greeting step started for: {event}")
        greeting = f"Hello, {event}!"
        step_context.logger.info(f"Greeting step completed with: {greeting}")
        return greeting

    return context.step(greet)
