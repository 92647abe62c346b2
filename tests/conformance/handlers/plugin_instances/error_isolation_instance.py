"""10-4 with a plugin instance (pre-3.0 shape): every hook raises; the execution is as without it."""

from __future__ import annotations

from shared_plugin import SharedPrintingPlugin, is_step

from perdure import (
    DurableContext,
    InvocationEndInfo,
    InvocationStartInfo,
    OperationEndInfo,
    OperationStartInfo,
    StepContext,
    UserFunctionEndInfo,
    UserFunctionStartInfo,
    durable_execution,
    durable_step,
)


class FaultyPlugin(SharedPrintingPlugin):
    def fail(self, hook: str) -> None:
        self.emit(hook)
        raise RuntimeError(f"{hook} hook fails on purpose")

    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        super().on_invocation_start(info)
        self.fail("invocation-start")

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.fail("invocation-end")

    def on_operation_start(self, info: OperationStartInfo) -> None:
        if is_step(info):
            self.fail("operation-start")

    def on_operation_end(self, info: OperationEndInfo) -> None:
        if is_step(info):
            self.fail("operation-end")

    def on_user_function_start(self, info: UserFunctionStartInfo) -> None:
        if is_step(info):
            self.fail("attempt-start")

    def on_user_function_end(self, info: UserFunctionEndInfo) -> None:
        if is_step(info):
            self.fail("attempt-end")


@durable_step
def greet(step_context: StepContext, name: str) -> str:
    return f"Hello, {name}!"


@durable_execution(plugins=[FaultyPlugin("CONFPLUGIN-FAULTY")])
def handler(event: str, context: DurableContext) -> str:
    return context.step(greet(event))
