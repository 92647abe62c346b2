"""The same workflows written on both faces of the SDK, for tests/e2e/test_faces.py.

Each `Flow` pairs a sync handler (`DurableContext`) with its natural async rewrite
(`AsyncDurableContext`: `async def`, `await`, async child, branch, iteration, step and
check functions), gives the input, the callbacks the test completes from outside, and
whether its operations run concurrently (then only each operation's own events keep
their order across runs). Together they cover every operation: steps with retries,
waits, child contexts, parallel with completion policies, map with max_concurrency and
a failure, create_callback, wait_for_callback, wait_for_condition, invoke, a map nested
in a parallel, and a map whose large result is re-built on replay (ReplayChildren).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from perdure import (
    AsyncDurableContext,
    BatchResult,
    CallbackConfig,
    CallbackError,
    ChildContextError,
    CompletionConfig,
    DurableContext,
    Duration,
    InvokeError,
    JitterStrategy,
    MapConfig,
    ParallelBranch,
    ParallelConfig,
    RetryPresets,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    StepError,
    WaitForCallbackConfig,
    WaitForCallbackContext,
    WaitForConditionCheckContext,
    WaitForConditionConfig,
    WaitForConditionDecision,
    create_retry_strategy,
    durable_execution,
    durable_parallel_branch,
    durable_step,
    durable_wait_for_callback,
    durable_with_child_context,
)
from perdure.wire.types import ErrorObject

RETRY = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=3, initial_delay=Duration.from_seconds(1), jitter_strategy=JitterStrategy.NONE
    )
)
NO_RETRY = StepConfig(retry_strategy=RetryPresets.none())


@dataclass(frozen=True)
class Flow:
    name: str
    sync: Callable[..., Any]
    async_: Callable[..., Any]
    input: Any = None
    callbacks: dict[str, str | ErrorObject] = field(default_factory=dict)
    """Callback (or wait_for_callback) name -> the success payload, or the failure to send."""
    concurrent: bool = False


def summary(result: BatchResult[Any]) -> dict[str, Any]:
    return {
        "reason": result.completion_reason.value,
        "status": result.status.value,
        "results": [item.result for item in result.all],
        "errors": [item.error.message if item.error else None for item in result.all],
    }


# ------------------------------------------------------------------ 1. steps and retries


def _flaky(step_context: StepContext) -> int:
    if step_context.attempt < 3:
        raise ConnectionError(f"attempt {step_context.attempt} dropped")
    return step_context.attempt


def _broken(step_context: StepContext) -> str:
    raise ValueError("the ledger refused the entry")


@durable_step
def _greet(step_context: StepContext, who: str) -> str:
    return f"Hello, {who}!"


@durable_execution
def steps_sync(event: dict[str, str], context: DurableContext) -> dict[str, Any]:
    greeting = context.step(_greet(event["who"]), name="greet")
    attempts = context.step(_flaky, name="flaky", config=StepConfig(retry_strategy=RETRY))
    try:
        context.step(_broken, name="broken", config=NO_RETRY)
        caught = "nothing"
    except StepError as error:
        caught = f"{error.error_type}: {error}"
    anonymous = context.step(lambda _: greeting.upper())
    return {"greeting": greeting, "attempts": attempts, "caught": caught, "anonymous": anonymous}


async def _aflaky(step_context: StepContext) -> int:
    if step_context.attempt < 3:
        raise ConnectionError(f"attempt {step_context.attempt} dropped")
    return step_context.attempt


async def _abroken(step_context: StepContext) -> str:
    raise ValueError("the ledger refused the entry")


@durable_step
async def _agreet(step_context: StepContext, who: str) -> str:
    return f"Hello, {who}!"


@durable_execution
async def steps_async(event: dict[str, str], context: AsyncDurableContext) -> dict[str, Any]:
    greeting = await context.step(_agreet(event["who"]), name="greet")
    attempts = await context.step(_aflaky, name="flaky", config=StepConfig(retry_strategy=RETRY))
    try:
        await context.step(_abroken, name="broken", config=NO_RETRY)
        caught = "nothing"
    except StepError as error:
        caught = f"{error.error_type}: {error}"
    anonymous = await context.step(lambda _: greeting.upper())
    return {"greeting": greeting, "attempts": attempts, "caught": caught, "anonymous": anonymous}


# ------------------------------------------------------------------ 2. waits


@durable_execution
def waits_sync(event: None, context: DurableContext) -> str:
    context.wait(Duration.from_seconds(5), name="cool-down")
    before = context.step(lambda _: "between", name="between")
    context.wait(Duration.from_minutes(2))
    return before


@durable_execution
async def waits_async(event: None, context: AsyncDurableContext) -> str:
    await context.wait(Duration.from_seconds(5), name="cool-down")
    before = await context.step(lambda _: "between", name="between")
    await context.wait(Duration.from_minutes(2))
    return before


# ------------------------------------------------------------------ 3. child contexts


@durable_with_child_context
def _reserve(child: DurableContext, sku: str) -> str:
    held = child.step(lambda _: f"held {sku}", name="hold")
    child.wait(Duration.from_seconds(3), name="settle")
    return held


@durable_execution
def children_sync(event: dict[str, str], context: DurableContext) -> dict[str, Any]:
    reserved = context.run_in_child_context(_reserve(event["sku"]), name="reserve")

    def outer(child: DurableContext) -> str:
        first = child.step(lambda _: "outer step")

        def inner(grandchild: DurableContext) -> str:
            return grandchild.step(lambda _: f"{first} / inner step")

        return child.run_in_child_context(inner, name="inner")

    nested = context.run_in_child_context(outer, name="outer")

    def failing(child: DurableContext) -> str:
        child.step(_broken, name="inside", config=NO_RETRY)
        return "unreachable"

    try:
        context.run_in_child_context(failing, name="failing")
        caught = "nothing"
    except ChildContextError as error:
        caught = str(error)
    return {"reserved": reserved, "nested": nested, "caught": caught}


@durable_with_child_context
async def _areserve(child: AsyncDurableContext, sku: str) -> str:
    held = await child.step(lambda _: f"held {sku}", name="hold")
    await child.wait(Duration.from_seconds(3), name="settle")
    return held


@durable_execution
async def children_async(event: dict[str, str], context: AsyncDurableContext) -> dict[str, Any]:
    reserved = await context.run_in_child_context(_areserve(event["sku"]), name="reserve")

    async def outer(child: AsyncDurableContext) -> str:
        first = await child.step(lambda _: "outer step")

        async def inner(grandchild: AsyncDurableContext) -> str:
            return await grandchild.step(lambda _: f"{first} / inner step")

        return await child.run_in_child_context(inner, name="inner")

    nested = await context.run_in_child_context(outer, name="outer")

    async def failing(child: AsyncDurableContext) -> str:
        await child.step(_abroken, name="inside", config=NO_RETRY)
        return "unreachable"

    try:
        await context.run_in_child_context(failing, name="failing")
        caught = "nothing"
    except ChildContextError as error:
        caught = str(error)
    return {"reserved": reserved, "nested": nested, "caught": caught}


# ------------------------------------------------------------------ 4. parallel with completion policies


def _branch(index: int, fails: bool) -> Callable[[DurableContext], str]:
    def run(ctx: DurableContext) -> str:
        value = ctx.step(lambda _: f"b{index}", name=f"work-{index}")
        if fails:
            raise RuntimeError(f"branch {index} failed")
        return value

    return run


@durable_parallel_branch(name="audit")
def _audit(ctx: DurableContext, topic: str) -> str:
    return ctx.step(lambda _: f"audited {topic}", name="audit-step")


@durable_execution
def parallel_sync(event: None, context: DurableContext) -> dict[str, Any]:
    first_two = context.parallel(
        [_branch(0, False), _branch(1, True), _branch(2, False), _branch(3, False)],
        name="first-two",
        config=ParallelConfig(max_concurrency=1, completion_config=CompletionConfig(min_successful=2)),
    )
    tolerant = context.parallel(
        [ParallelBranch(_branch(4, True), name="left"), ParallelBranch(_branch(5, True), name="right")],
        name="tolerant",
        config=ParallelConfig(
            max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=1)
        ),
    )
    audits = context.parallel(
        [_audit("books"), _branch(6, False)], name="audits", config=ParallelConfig(max_concurrency=1)
    )
    return {"first_two": summary(first_two), "tolerant": summary(tolerant), "audits": audits.get_results()}


def _abranch(index: int, fails: bool) -> Callable[[AsyncDurableContext], Any]:
    async def run(ctx: AsyncDurableContext) -> str:
        value = await ctx.step(lambda _: f"b{index}", name=f"work-{index}")
        if fails:
            raise RuntimeError(f"branch {index} failed")
        return value

    return run


@durable_parallel_branch(name="audit")
async def _aaudit(ctx: AsyncDurableContext, topic: str) -> str:
    return await ctx.step(lambda _: f"audited {topic}", name="audit-step")


@durable_execution
async def parallel_async(event: None, context: AsyncDurableContext) -> dict[str, Any]:
    first_two = await context.parallel(
        [_abranch(0, False), _abranch(1, True), _abranch(2, False), _abranch(3, False)],
        name="first-two",
        config=ParallelConfig(max_concurrency=1, completion_config=CompletionConfig(min_successful=2)),
    )
    tolerant = await context.parallel(
        [ParallelBranch(_abranch(4, True), name="left"), ParallelBranch(_abranch(5, True), name="right")],
        name="tolerant",
        config=ParallelConfig(
            max_concurrency=1, completion_config=CompletionConfig(tolerated_failure_count=1)
        ),
    )
    audits = await context.parallel(
        [_aaudit("books"), _abranch(6, False)], name="audits", config=ParallelConfig(max_concurrency=1)
    )
    return {"first_two": summary(first_two), "tolerant": summary(tolerant), "audits": audits.get_results()}


# ------------------------------------------------------------------ 5. map with max_concurrency and a failure

MAP_CONFIG: MapConfig[int] = MapConfig(
    max_concurrency=3,
    completion_config=CompletionConfig(tolerated_failure_count=1),
    item_namer=lambda item, index: f"item-{item}",
)


def _double(ctx: DurableContext, item: int, index: int, items: list[int]) -> int:
    doubled = ctx.step(lambda _: item * 2, name="double")
    if item == 5:
        raise ValueError(f"item {item} is odd one out")
    return doubled


@durable_execution
def map_sync(event: list[int], context: DurableContext) -> dict[str, Any]:
    return summary(context.map(event, _double, name="doubles", config=MAP_CONFIG))


async def _adouble(ctx: AsyncDurableContext, item: int, index: int, items: list[int]) -> int:
    doubled = await ctx.step(lambda _: item * 2, name="double")
    if item == 5:
        raise ValueError(f"item {item} is odd one out")
    return doubled


@durable_execution
async def map_async(event: list[int], context: AsyncDurableContext) -> dict[str, Any]:
    return summary(await context.map(event, _adouble, name="doubles", config=MAP_CONFIG))


# ------------------------------------------------------------------ 6. create_callback


@durable_execution
def callbacks_sync(event: None, context: DurableContext) -> dict[str, Any]:
    approval = context.create_callback(name="approval", config=CallbackConfig(timeout=Duration.from_hours(1)))
    rejection = context.create_callback(name="rejection")
    context.step(lambda _: "notified", name="notify")
    approved = approval.result()
    try:
        rejected: Any = rejection.result()
    except CallbackError as error:
        rejected = f"refused: {error}"
    return {"approved": approved, "rejected": rejected}


@durable_execution
async def callbacks_async(event: None, context: AsyncDurableContext) -> dict[str, Any]:
    approval = await context.create_callback(
        name="approval", config=CallbackConfig(timeout=Duration.from_hours(1))
    )
    rejection = await context.create_callback(name="rejection")
    await context.step(lambda _: "notified", name="notify")
    approved = await approval.result()
    try:
        rejected: Any = await rejection.result()
    except CallbackError as error:
        rejected = f"refused: {error}"
    return {"approved": approved, "rejected": rejected}


REFUSAL = ErrorObject(error_message="over budget", error_type="Refused")


# ------------------------------------------------------------------ 7. wait_for_callback


@durable_wait_for_callback
def _submit(callback_id: str, context: WaitForCallbackContext, ticket: str) -> None:
    context.logger.info(f"ticket {ticket} filed")


@durable_execution
def wait_for_callback_sync(event: None, context: DurableContext) -> Any:
    config = WaitForCallbackConfig(timeout=Duration.from_hours(2), retry_strategy=RETRY)
    first = context.wait_for_callback(_submit("T-1"), name="sign-off", config=config)
    second = context.wait_for_callback(lambda callback_id, _: None, name="counter-sign")
    return [first, second]


@durable_wait_for_callback
async def _asubmit(callback_id: str, context: WaitForCallbackContext, ticket: str) -> None:
    context.logger.info(f"ticket {ticket} filed")


@durable_execution
async def wait_for_callback_async(event: None, context: AsyncDurableContext) -> Any:
    config = WaitForCallbackConfig(timeout=Duration.from_hours(2), retry_strategy=RETRY)
    first = await context.wait_for_callback(_asubmit("T-1"), name="sign-off", config=config)
    second = await context.wait_for_callback(lambda callback_id, _: None, name="counter-sign")
    return [first, second]


# ------------------------------------------------------------------ 8. wait_for_condition


def _until_three(state: dict[str, int], attempts_made: int) -> WaitForConditionDecision:
    if state["count"] >= 3:
        return WaitForConditionDecision.stop_polling()
    return WaitForConditionDecision.continue_waiting(Duration.from_seconds(attempts_made * 2))


CONDITION: WaitForConditionConfig[dict[str, int]] = WaitForConditionConfig(
    wait_strategy=_until_three, initial_state={"count": 0}
)


def _poll(state: dict[str, int], check_context: WaitForConditionCheckContext) -> dict[str, int]:
    return {"count": state["count"] + 1}


@durable_execution
def condition_sync(event: None, context: DurableContext) -> dict[str, int]:
    reached = context.wait_for_condition(_poll, CONDITION, name="poll-job")
    return context.step(lambda _: {"count": reached["count"] * 10}, name="scale")


async def _apoll(state: dict[str, int], check_context: WaitForConditionCheckContext) -> dict[str, int]:
    return {"count": state["count"] + 1}


@durable_execution
async def condition_async(event: None, context: AsyncDurableContext) -> dict[str, int]:
    reached = await context.wait_for_condition(_apoll, CONDITION, name="poll-job")
    return await context.step(lambda _: {"count": reached["count"] * 10}, name="scale")


# ------------------------------------------------------------------ 9. invoke


@durable_execution
def echo_sync(event: Any, context: DurableContext) -> Any:
    context.wait(Duration.from_seconds(1))
    return {"echo": event}


@durable_execution
def refuse_sync(event: Any, context: DurableContext) -> Any:
    raise PermissionError(f"refused {event}")


@durable_execution
def invoke_sync(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    echoed = context.invoke("echo", event, name="call-echo")
    try:
        context.invoke("refuse", "please", name="call-refuse")
        refused = "accepted"
    except InvokeError as error:
        refused = f"{error.error_type}: {error}"
    return {"echoed": echoed, "refused": refused}


@durable_execution
async def echo_async(event: Any, context: AsyncDurableContext) -> Any:
    await context.wait(Duration.from_seconds(1))
    return {"echo": event}


@durable_execution
async def refuse_async(event: Any, context: AsyncDurableContext) -> Any:
    raise PermissionError(f"refused {event}")


@durable_execution
async def invoke_async(event: dict[str, Any], context: AsyncDurableContext) -> dict[str, Any]:
    echoed = await context.invoke("echo", event, name="call-echo")
    try:
        await context.invoke("refuse", "please", name="call-refuse")
        refused = "accepted"
    except InvokeError as error:
        refused = f"{error.error_type}: {error}"
    return {"echoed": echoed, "refused": refused}


TARGETS = {
    "sync": {"echo": echo_sync, "refuse": refuse_sync},
    "async": {"echo": echo_async, "refuse": refuse_async},
}


# ------------------------------------------------------------------ 10. a map nested in a parallel


def _region(name: str, items: list[int]) -> Callable[[DurableContext], Any]:
    def iteration(ctx: DurableContext, item: int, index: int, all_items: list[int]) -> str:
        return ctx.step(lambda _: f"{name}:{item}", name="ship")

    def run(ctx: DurableContext) -> list[str]:
        shipped = ctx.map(items, iteration, name=f"ship-{name}", config=MapConfig(max_concurrency=2))
        return shipped.get_results()

    return run


@durable_execution
def nested_sync(event: None, context: DurableContext) -> list[Any]:
    regions = [_region("eu", [1, 2, 3]), _region("us", [4, 5])]
    return context.parallel(regions, name="regions", config=ParallelConfig(max_concurrency=2)).get_results()


def _aregion(name: str, items: list[int]) -> Callable[[AsyncDurableContext], Any]:
    async def iteration(ctx: AsyncDurableContext, item: int, index: int, all_items: list[int]) -> str:
        return await ctx.step(lambda _: f"{name}:{item}", name="ship")

    async def run(ctx: AsyncDurableContext) -> list[str]:
        shipped = await ctx.map(items, iteration, name=f"ship-{name}", config=MapConfig(max_concurrency=2))
        return shipped.get_results()

    return run


@durable_execution
async def nested_async(event: None, context: AsyncDurableContext) -> list[Any]:
    regions = [_aregion("eu", [1, 2, 3]), _aregion("us", [4, 5])]
    result = await context.parallel(regions, name="regions", config=ParallelConfig(max_concurrency=2))
    return result.get_results()


# ------------------------------------------------------------------ 11. ReplayChildren: a large batch


def _blob(item: int) -> str:
    return f"{item:04d}" * 2048  # 8 KiB each: 40 items make a result over the 256 KiB limit


def _large(ctx: DurableContext, item: int, index: int, items: list[int]) -> str:
    return ctx.step(lambda _: _blob(item), name="blob")


@durable_execution
def overflow_sync(event: int, context: DurableContext) -> dict[str, int]:
    batch = context.map(list(range(event)), _large, name="blobs", config=MapConfig(max_concurrency=4))
    context.wait(Duration.from_seconds(1), name="after")
    results = batch.get_results()
    return {"count": len(results), "bytes": sum(len(r) for r in results)}


async def _alarge(ctx: AsyncDurableContext, item: int, index: int, items: list[int]) -> str:
    return await ctx.step(lambda _: _blob(item), name="blob")


@durable_execution
async def overflow_async(event: int, context: AsyncDurableContext) -> dict[str, int]:
    batch = await context.map(list(range(event)), _alarge, name="blobs", config=MapConfig(max_concurrency=4))
    await context.wait(Duration.from_seconds(1), name="after")
    results = batch.get_results()
    return {"count": len(results), "bytes": sum(len(r) for r in results)}


FLOWS = [
    Flow("steps", steps_sync, steps_async, {"who": "Ada"}),
    Flow("waits", waits_sync, waits_async),
    Flow("children", children_sync, children_async, {"sku": "lamp"}),
    Flow("parallel", parallel_sync, parallel_async),
    Flow("map", map_sync, map_async, [0, 1, 2, 3, 4, 5, 6, 7], concurrent=True),
    Flow("callbacks", callbacks_sync, callbacks_async, callbacks={"approval": "yes", "rejection": REFUSAL}),
    Flow(
        "wait_for_callback",
        wait_for_callback_sync,
        wait_for_callback_async,
        callbacks={"sign-off": "signed by Grace", "counter-sign": "ok"},
    ),
    Flow("wait_for_condition", condition_sync, condition_async),
    # The invoked function runs beside the caller's invocation, so where its end falls
    # relative to the caller's InvocationCompleted varies from run to run.
    Flow("invoke", invoke_sync, invoke_async, {"order": 7}, concurrent=True),
    Flow("map_in_parallel", nested_sync, nested_async, concurrent=True),
    Flow("replay_children", overflow_sync, overflow_async, 40, concurrent=True),
]
