"""10-5: two plugins registered together (A, B) both receive the invocation hooks."""

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
        self.emit("invocation-start")

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.emit("invocation-end", status=info.status.value)


@durable_step
async def greet(step_context: StepContext, name: str) -> str:
    return f"Hello, {name}!"


@durable_execution(
    plugins=[Factory(InvocationPlugin, "CONFPLUGIN-A"), Factory(InvocationPlugin, "CONFPLUGIN-B")]
)
async def handler(event: str, context: AsyncDurableContext) -> str:
    return await context.step(greet(event))
