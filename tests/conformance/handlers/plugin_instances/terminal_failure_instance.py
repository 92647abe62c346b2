"""10-7 with a plugin instance (pre-3.0 shape): a step that always fails; invocation-end reports FAILED."""

from __future__ import annotations

from shared_plugin import SharedPrintingPlugin

from perdure import (
    DurableContext,
    InvocationEndInfo,
    InvocationStartInfo,
    RetryPresets,
    StepConfig,
    StepContext,
    durable_execution,
)


class InvocationPlugin(SharedPrintingPlugin):
    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        super().on_invocation_start(info)
        self.emit("invocation-start", first=info.is_first_invocation)

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.emit("invocation-end", status=info.status.value)


@durable_execution(plugins=[InvocationPlugin()])
def handler(event: None, context: DurableContext) -> str:
    def failing(step_context: StepContext) -> str:
        raise RuntimeError("this step always fails")

    return context.step(failing, config=StepConfig(retry_strategy=RetryPresets.none()))
