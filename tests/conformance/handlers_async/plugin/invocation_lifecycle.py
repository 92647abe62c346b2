"""10-1: invocation-start fires before the handler runs, invocation-end after its result."""

from __future__ import annotations

from async_confplugin import Factory, PrintingPlugin

from perdure import (
    AsyncDurableContext,
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
async def greet(step_context: StepContext, name: str) -> str:
    step_context.logger.info(f"Greeting step running for: {name}")
    return f"Hello, {name}!"


@durable_execution(plugins=[Factory(InvocationPlugin)])
async def handler(event: str, context: AsyncDurableContext) -> str:
    return await context.step(greet(event))
