"""10-6: is_first_invocation is true for the first invocation only, false on the replay."""

from __future__ import annotations

from async_confplugin import Factory, PrintingPlugin

from perdure import AsyncDurableContext, Duration, InvocationEndInfo, InvocationStartInfo, durable_execution


class InvocationPlugin(PrintingPlugin):
    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        self.emit("invocation-start", first=info.is_first_invocation)

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.emit("invocation-end", status=info.status.value)


@durable_execution(plugins=[Factory(InvocationPlugin)])
async def handler(event: None, context: AsyncDurableContext) -> None:
    await context.wait(Duration.from_seconds(2))
