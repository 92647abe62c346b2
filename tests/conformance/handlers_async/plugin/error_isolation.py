"""10-4: every hook of the plugin raises; the execution is exactly as without it."""

from __future__ import annotations

from async_confplugin import Factory, PrintingPlugin, is_step

from perdure import (
    AsyncDurableContext,
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


class FaultyPlugin(PrintingPlugin):
    def fail(self, hook: str) -> None:
        self.emit(hook)
        raise RuntimeError(f"{hook} hook fails on purpose")

    def on_invocation_start(self, info: InvocationStartInfo) -> None:
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
async def greet(step_context: StepContext, name: str) -> str:
    return f"Hello, {name}!"


@durable_execution(plugins=[Factory(FaultyPlugin, "CONFPLUGIN-FAULTY")])
async def handler(event: str, context: AsyncDurableContext) -> str:
    return await context.step(greet(event))
