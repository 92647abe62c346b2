"""10-2: operation-start and operation-end fire once for the step, with its history id."""

from __future__ import annotations

from async_confplugin import Factory, PrintingPlugin, is_step

from perdure import (
    AsyncDurableContext,
    OperationEndInfo,
    OperationStartInfo,
    StepContext,
    durable_execution,
    durable_step,
)


class OperationPlugin(PrintingPlugin):
    def on_operation_start(self, info: OperationStartInfo) -> None:
        if is_step(info):
            self.emit("operation-start", op=info.operation_id)

    def on_operation_end(self, info: OperationEndInfo) -> None:
        if is_step(info):
            self.emit("operation-end", op=info.operation_id, status=info.status.value)


@durable_step
async def greet(step_context: StepContext, name: str) -> str:
    return f"Hello, {name}!"


@durable_execution(plugins=[Factory(OperationPlugin)])
async def handler(event: str, context: AsyncDurableContext) -> str:
    return await context.step(greet(event))
