"""10-5 with plugin instances (pre-3.0 shape): two plugins registered together both get the hooks."""

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
        self.emit("invocation-start")

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.emit("invocation-end", status=info.status.value)


@durable_step
def greet(step_context: StepContext, name: str) -> str:
    return f"Hello, {name}!"


@durable_execution(plugins=[InvocationPlugin("CONFPLUGIN-A"), InvocationPlugin("CONFPLUGIN-B")])
def handler(event: str, context: DurableContext) -> str:
    return context.step(greet(event))
