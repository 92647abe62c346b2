"""10-6 with a plugin instance (pre-3.0 shape): is_first_invocation is true for the first invocation only."""

from __future__ import annotations

from shared_plugin import SharedPrintingPlugin

from perdure import DurableContext, Duration, InvocationEndInfo, InvocationStartInfo, durable_execution


class InvocationPlugin(SharedPrintingPlugin):
    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        super().on_invocation_start(info)
        self.emit("invocation-start", first=info.is_first_invocation)

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.emit("invocation-end", status=info.status.value)


@durable_execution(plugins=[InvocationPlugin()])
def handler(event: None, context: DurableContext) -> None:
    context.wait(Duration.from_seconds(2))
