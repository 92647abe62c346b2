"""Handlers written with the official AWS SDK's names, run on perdure's engine.

    PYTHONPATH=<repo> benchmarks/.peer-venv/bin/python tests/e2e/official/drive.py DB
    python tests/e2e/official/drive.py DB --perdure

In the peer venv, the official `aws_durable_execution_sdk_python` 3.0 runs each handler;
with `--perdure`, perdure's SDK runs the same code through its import alias
(`perdure.compat`). Either way a handler runs as AWS Lambda runs it: it gets the
invocation input as a JSON event and talks to the durable-execution API through the SDK's
boto3 client, here pointed at perdure's HTTP API (`EngineHost`) on an ephemeral port. The
engine is perdure's, on the SQLite file DB. Prints one JSON line per case: {"case",
"status", "result", "error", "history"}, the history as sorted [event type, operation id,
name, sub-type, parent id] of every operation event.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/e2e: lambda_runtime

if "--perdure" in sys.argv:
    from perdure import compat

    compat.install()

from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import (
    CallbackConfig,
    CompletionConfig,
    Duration,
    MapConfig,
    NestingType,
    ParallelConfig,
    StepConfig,
    StepSemantics,
)
from aws_durable_execution_sdk_python.retries import RetryStrategyConfig, create_retry_strategy
from aws_durable_execution_sdk_python.waits import WaitForConditionConfig, WaitForConditionDecision
from lambda_runtime import LambdaEventInvocable, lambda_client

from perdure.engine import Engine
from perdure.server import EngineHost

# ------------------------------------------------------------------------- handlers


def steps_and_wait(event: Any, ctx: DurableContext) -> int:
    total = sum(ctx.step(lambda _, i=i: i * 10, name=f"s{i}") for i in range(5))
    ctx.wait(Duration.from_seconds(2))
    return total


def map_over_256_kib(event: Any, ctx: DurableContext) -> list[int]:
    # 30 results of 20-40 KB: the batch is recorded with ReplayChildren, and the wait after
    # it makes the last invocation rebuild the result from the branch checkpoints.
    batch = ctx.map(
        list(range(30)),
        lambda c, item, index, items: c.step(lambda _: str(item) * 20_000),
        name="big",
        config=MapConfig(max_concurrency=4),
    )
    ctx.wait(Duration.from_seconds(1))
    return [len(r) for r in batch.get_results()]


def flat_map(event: Any, ctx: DurableContext) -> list[str]:
    batch = ctx.map(
        list(range(12)),
        lambda c, item, index, items: c.step(lambda _: "abc" * 10_000 + f"{item:02d}"),
        name="flat",
        config=MapConfig(max_concurrency=3, nesting_type=NestingType.FLAT),
    )
    ctx.wait(Duration.from_seconds(1))
    return [r[-2:] for r in batch.get_results()]


def parallel_and_child(event: Any, ctx: DurableContext) -> list[int]:
    batch = ctx.parallel(
        [
            lambda c: c.step(lambda _: 1),
            lambda c: c.step(lambda _: 2),
            lambda c: c.run_in_child_context(lambda cc: cc.step(lambda _: 3)),
        ]
    )
    ctx.wait(Duration.from_seconds(1))
    return batch.get_results()


def child_over_256_kib(event: Any, ctx: DurableContext) -> int:
    value = ctx.run_in_child_context(
        lambda c: "".join(c.step(lambda _, k=k: str(k) * 100_000) for k in range(3)), name="big-child"
    )
    ctx.wait(Duration.from_seconds(1))
    return len(value)


def step_fails_after_retries(event: Any, ctx: DurableContext) -> None:
    def boom(_: Any) -> None:
        raise ValueError("nope")

    retry = create_retry_strategy(RetryStrategyConfig(max_attempts=2))
    ctx.step(boom, name="boom", config=StepConfig(retry_strategy=retry))


def wait_for_condition(event: Any, ctx: DurableContext) -> int:
    def strategy(state: int, attempt: int) -> WaitForConditionDecision:
        if state < 3:
            return WaitForConditionDecision.continue_waiting(Duration.from_seconds(1))
        return WaitForConditionDecision.stop_polling()

    config = WaitForConditionConfig(wait_strategy=strategy, initial_state=0)
    return ctx.wait_for_condition(lambda state, check: state + 1, config=config)


def step_payload_over_256_kib(event: Any, ctx: DurableContext) -> str:
    return ctx.step(lambda _: "x" * 300_000, name="too-big")


def map_tolerating_failures(event: Any, ctx: DurableContext) -> dict[str, Any]:
    def item(c: DurableContext, x: int, index: int, items: Any) -> int:
        if x % 3 == 0:
            raise ValueError(f"bad {x}")
        return c.step(lambda _: x)

    config = MapConfig(max_concurrency=2, completion_config=CompletionConfig(tolerated_failure_count=5))
    batch = ctx.map(list(range(10)), item, name="tolerant", config=config)
    failed = [i.index for i in batch.failed()]
    return {"results": batch.get_results(), "reason": batch.completion_reason.value, "failed": failed}


def parallel_first_successful(event: Any, ctx: DurableContext) -> dict[str, Any]:
    config = ParallelConfig(max_concurrency=1, completion_config=CompletionConfig.first_successful())
    branches = [lambda c, v=v: c.step(lambda _: v) for v in "abc"]
    batch = ctx.parallel(branches, name="first", config=config)
    return {"results": batch.get_results(), "reason": batch.completion_reason.value, "items": len(batch.all)}


def parallel_all_completed(event: Any, ctx: DurableContext) -> dict[str, Any]:
    def bad(c: DurableContext) -> int:
        raise ValueError("bad branch")

    config = ParallelConfig(completion_config=CompletionConfig.all_completed())
    batch = ctx.parallel([lambda c: 1, bad, lambda c: 3], name="all", config=config)
    errors = [e.type for e in batch.get_errors()]  # the official ErrorObject's names
    return {"results": batch.get_results(), "errors": errors, "reason": batch.completion_reason.value}


def map_failing_fast(event: Any, ctx: DurableContext) -> dict[str, Any]:
    def item(c: DurableContext, x: int, index: int, items: Any) -> int:
        if x == 2:
            raise KeyError("two")
        return x

    batch = ctx.map(list(range(6)), item, name="fail-fast", config=MapConfig(max_concurrency=1))
    return {"reason": batch.completion_reason.value, "statuses": [i.status.value for i in batch.all]}


def parallel_inside_map(event: Any, ctx: DurableContext) -> list[list[int]]:
    def item(c: DurableContext, x: int, index: int, items: Any) -> list[int]:
        return c.parallel(
            [lambda cc: cc.step(lambda _: x), lambda cc: cc.step(lambda _: x * 10)]
        ).get_results()

    return ctx.map([1, 2], item, name="outer").get_results()


def at_most_once_step(event: Any, ctx: DurableContext) -> int:
    config = StepConfig(step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)
    return ctx.step(lambda _: 5, name="once", config=config)


def callback_timing_out(event: Any, ctx: DurableContext) -> str:
    try:
        ctx.wait_for_callback(
            lambda *args: None, name="never", config=CallbackConfig(timeout=Duration.from_seconds(5))
        )
    except Exception as exc:
        return type(exc).__name__
    return "no timeout"


def callee(event: Any, ctx: DurableContext) -> int:
    return ctx.step(lambda _: event["n"] * 2)


def caller(event: Any, ctx: DurableContext) -> int:
    return ctx.invoke("callee", {"n": 21}, name="call")


def callback(event: Any, ctx: DurableContext) -> Any:
    client = ctx_clients["real-time"]

    def submit(callback_id: str, *rest: Any) -> None:
        result = json.dumps({"ok": 7}).encode()
        threading.Timer(
            0.2, lambda: client.send_durable_execution_callback_success(CallbackId=callback_id, Result=result)
        ).start()

    return json.loads(ctx.wait_for_callback(submit, name="approval"))


ctx_clients: dict[str, Any] = {}

SKIPPED_TIME = (
    steps_and_wait,
    map_over_256_kib,
    flat_map,
    parallel_and_child,
    child_over_256_kib,
    step_fails_after_retries,
    wait_for_condition,
    step_payload_over_256_kib,
    map_tolerating_failures,
    parallel_first_successful,
    parallel_all_completed,
    map_failing_fast,
    parallel_inside_map,
    at_most_once_step,
    callback_timing_out,
    callee,
    caller,
)
REAL_TIME = (callback,)  # a callback from outside: the virtual clock would call it a stall


def _run(engine: Engine, cases: tuple[Callable[..., Any], ...], client: Any, drive: tuple[str, ...]) -> None:
    for function in cases:
        handler = durable_execution(boto3_client=client)(function)
        engine.register_function(function.__name__, LambdaEventInvocable(handler))
    for name in drive:
        arn = engine.start_execution(name, json.dumps({}))
        done = engine.drive(arn)
        error = (
            None
            if done.error is None
            else {"type": done.error.error_type, "message": done.error.error_message}
        )
        result = json.loads(done.result) if done.result else None
        history = sorted(
            [e.event_type.value, e.id, e.name, e.sub_type, e.parent_id]
            for e in engine.history(arn)
            if not e.event_type.value.startswith(("Execution", "Invocation"))
        )
        line = {
            "case": name,
            "status": done.status.value,
            "result": result,
            "error": error,
            "history": history,
        }
        print(json.dumps(line), flush=True)


def main() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.ERROR)
    with Engine.open(sys.argv[1], skip_time=True) as engine:
        host = EngineHost(engine, port=0)
        host.start()
        try:
            names = tuple(f.__name__ for f in SKIPPED_TIME if f is not callee)
            _run(engine, SKIPPED_TIME, lambda_client(host.url), names)
        finally:
            host.stop()
    with Engine.open(sys.argv[1] + "-real-time") as engine:
        host = EngineHost(engine, port=0)
        host.start()
        try:
            ctx_clients["real-time"] = lambda_client(host.url)
            _run(engine, REAL_TIME, ctx_clients["real-time"], tuple(f.__name__ for f in REAL_TIME))
        finally:
            host.stop()


if __name__ == "__main__":
    main()
