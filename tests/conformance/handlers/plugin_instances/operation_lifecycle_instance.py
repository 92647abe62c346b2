"""10-2 with a plugin instance (pre-3.0 shape): operation-start and operation-end once for the step."""

from __future__ import annotations

from shared_plugin import SharedPrintingPlugin, is_step

from perdure import (
    DurableContext,
    OperationEndInfo,
    OperationStartInfo,
    StepContext,
    durable_execution,
    durable_step,
)


class OperationPlugin(SharedPrintingPlugin):
    def on_operation_start(self, info: OperationStartInfo) -> None:
        if is_step(info):
            self.emit("operation-start", op=info.operation_id)

    def on_operation_end(self, info: OperationEndInfo) -> None:
        if is_step(info):
            self.emit("operation-end", op=info.operation_id, status=info.status.value)


@durable_step
def greet(step_context: StepContext, name: str) -> str:
    return f"Hello, {name}!"


@durable_execution(plugins=[OperationPlugin()])
def handler(event: str, context: DurableContext) -> str:
    return context.step(greet(event))
