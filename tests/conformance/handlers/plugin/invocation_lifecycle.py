"""10-1: invocation-start fires before the handler runs, invocation-end after its result."""

from __future__ import annotations

from confplugin import Factory, PrintingPlugin

from perdure import (
    DurableContext,
    InvocationEndInfo,
    InvocationStartInfo,
    StepContext,
    durable_execution,
    durable_step,
)


class InvocationPlugin(PrintingPlugin):
    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        self.emit("invocation-start", first=info.is_first_invocation)

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.emit("invocation-end", status=info.status.value)


@durable_step
def greet(step_context: StepContext, name: str) -> str:
    step_context.logger.info(f"Greeting step running for: {name}")
    return f"Hello, {name}!"


@durable_execution(plugins=[Factory(InvocationPlugin)])
def handler(event: str, context: DurableContext) -> str:
    return context.step(greet(event))
