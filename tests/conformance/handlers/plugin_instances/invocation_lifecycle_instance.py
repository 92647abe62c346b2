"""10-1 with a plugin instance (pre-3.0 shape): invocation-start before the handler, invocation-end after."""

from __future__ import annotations

from shared_plugin import SharedPrintingPlugin

from perdure import (
    DurableContext,
    InvocationEndInfo,
    InvocationStartInfo,
    StepContext,
    durable_execution,
    durable_step,
)


class InvocationPlugin(SharedPrintingPlugin):
    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        super().on_invocation_start(info)
        self.emit("invocation-start", first=info.is_first_invocation)

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.emit("invocation-end", status=info.status.value)


@durable_step
def greet(step_context: StepContext, name: str) -> str:
    step_context.logger.info(f"Greeting step running for: {name}")
    return f"Hello, {name}!"


@durable_execution(plugins=[InvocationPlugin()])
def handler(event: str, context: DurableContext) -> str:
    return context.step(greet(event))
