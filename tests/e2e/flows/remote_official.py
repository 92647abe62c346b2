"""Handlers written with the official AWS SDK's names, served as remote functions by
`python -m perdure.link.lambda_host`: in the peer venv they run on the official SDK 3.0;
with `--compat`, on perdure's SDK. They reach the engine through `AWS_ENDPOINT_URL_LAMBDA`."""

from __future__ import annotations

from typing import Any

from aws_durable_execution_sdk_python import DurableContext, StepContext, durable_execution
from aws_durable_execution_sdk_python.config import Duration, JitterStrategy, MapConfig, StepConfig
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy

BIG = 220_000


@durable_execution
def journey(event: Any, ctx: DurableContext) -> dict[str, Any]:
    """Steps, a wait, a map over 256 KiB (ReplayChildren), a chained invoke of `doubler`."""
    first = ctx.step(lambda _: 20, name="first")
    ctx.wait(Duration.from_seconds(60), name="pause")
    filled = ctx.map(
        list(range(6)),
        lambda c, item, index, items: c.step(lambda _: "x" * 40_000 * (item + 1), name="fill"),
        name="fill-all",
        config=MapConfig(max_concurrency=1),
    ).get_results()
    doubled = ctx.invoke("doubler", {"n": first + 1}, name="double")
    return {"first": first, "sizes": [len(text) for text in filled], "doubled": doubled}


@durable_execution
def doubler(event: Any, ctx: DurableContext) -> int:
    return int(ctx.step(lambda _: event["n"] * 2, name="double"))


@durable_execution
def retrying(event: Any, ctx: DurableContext) -> dict[str, Any]:
    """A step that fails twice, then succeeds on its third attempt."""

    def flaky(step: StepContext) -> int:
        if step.attempt <= 2:
            raise ConnectionError(f"attempt {step.attempt} failed")
        return step.attempt

    retry = create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=4, initial_delay=Duration.from_seconds(3), jitter_strategy=JitterStrategy.NONE
        )
    )
    return {"attempts": ctx.step(flaky, name="flaky", config=StepConfig(retry_strategy=retry))}


@durable_execution
def approval(event: Any, ctx: DurableContext) -> dict[str, Any]:
    callback = ctx.create_callback(name="approval")
    return {"answer": callback.result()}


@durable_execution
def big_state(event: Any, ctx: DurableContext) -> int:
    """30 step results of `BIG` characters, then a wait: the next invocation's state is paged."""
    lengths = [len(ctx.step(lambda _, i=i: str(i % 10) * BIG, name=f"big{i}")) for i in range(30)]
    ctx.wait(Duration.from_seconds(5), name="rest")
    return sum(lengths) + len(ctx.step(lambda _: "done", name="after"))
