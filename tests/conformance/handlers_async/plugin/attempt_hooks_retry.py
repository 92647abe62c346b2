"""10-3: user-function hooks fire per step attempt, with the attempt number and outcome."""

from __future__ import annotations

from async_confplugin import Factory, PrintingPlugin, is_step

from perdure import (
    AsyncDurableContext,
    Duration,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    UserFunctionEndInfo,
    UserFunctionStartInfo,
    create_retry_strategy,
    durable_execution,
)

RETRY = create_retry_strategy(RetryStrategyConfig(max_attempts=3, initial_delay=Duration.from_seconds(1)))


class AttemptPlugin(PrintingPlugin):
    def on_user_function_start(self, info: UserFunctionStartInfo) -> None:
        if is_step(info):
            self.emit("attempt-start", n=info.attempt, op=info.operation_id)

    def on_user_function_end(self, info: UserFunctionEndInfo) -> None:
        if is_step(info):
            self.emit("attempt-end", n=info.attempt, outcome=info.outcome.value, op=info.operation_id)


@durable_execution(plugins=[Factory(AttemptPlugin)])
async def handler(event: None, context: AsyncDurableContext) -> str:
    async def unreliable(step_context: StepContext) -> str:
        if step_context.attempt == 1:
            raise ConnectionError("first attempt fails")
        return "Operation succeeded"

    return await context.step(unreliable, config=StepConfig(retry_strategy=RETRY))
