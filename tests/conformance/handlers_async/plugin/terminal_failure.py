"""10-7: a step that always fails, no retry: invocation-end reports FAILED."""

from __future__ import annotations

from async_confplugin import Factory, PrintingPlugin

from perdure import (
    AsyncDurableContext,
    InvocationEndInfo,
    InvocationStartInfo,
    RetryPresets,
    StepConfig,
    StepContext,
    durable_execution,
)


class InvocationPlugin(PrintingPlugin):
    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        self.emit("invocation-start", first=info.is_first_invocation)

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.emit("invocation-end", status=info.status.value)


@durable_execution(plugins=[Factory(InvocationPlugin)])
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def failing(step_context: StepContext) -> str:
        raise RuntimeError("this step always fails")

    return await context.step(failing, config=StepConfig(retry_strategy=RetryPresets.none()))
