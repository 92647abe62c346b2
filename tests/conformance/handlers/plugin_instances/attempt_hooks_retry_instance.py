"""10-3 with a plugin instance (pre-3.0 shape): user-function hooks per step attempt."""

from __future__ import annotations

from shared_plugin import SharedPrintingPlugin, is_step

from perdure import (
    DurableContext,
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


class AttemptPlugin(SharedPrintingPlugin):
    def on_user_function_start(self, info: UserFunctionStartInfo) -> None:
        if is_step(info):
            self.emit("attempt-start", n=info.attempt, op=info.operation_id)

    def on_user_function_end(self, info: UserFunctionEndInfo) -> None:
        if is_step(info):
            self.emit("attempt-end", n=info.attempt, outcome=info.outcome.value, op=info.operation_id)


@durable_execution(plugins=[AttemptPlugin()])
def handler(event: None, context: DurableContext) -> str:
    def unreliable(step_context: StepContext) -> str:
        if step_context.attempt == 1:
            raise ConnectionError("first attempt fails")
        return "Operation succeeded"

    return context.step(unreliable, config=StepConfig(retry_strategy=RETRY))
