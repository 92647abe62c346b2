"""An async handler's operation ids follow the order operations are created, not finished.

The handler gathers 50 steps whose bodies sleep a random time (a fresh random order every
run), waits, and resumes. Over 20 runs every step keeps the same operation id and result,
each body runs once (the replay after the wait takes the recorded results), and the step
after the wait sees the same values. If ids were taken when a step finished, the random
finishing order would move results between ids from one run to the next.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from perdure import AsyncDurableContext, Duration, StepContext, durable_execution
from perdure.testing import DurableTestRunner, ExecutionResult

STEPS = 50
RUNS = 20
ran: list[int] = []
"""Indexes of the step bodies that ran, across the current run's invocations."""


def _body(index: int, delay: float) -> Any:
    async def square(step_context: StepContext) -> int:
        await asyncio.sleep(delay)
        ran.append(index)
        return index * index

    return square


@durable_execution
async def gathered(event: None, context: AsyncDurableContext) -> dict[str, Any]:
    rng = random.Random()  # unseeded: each run (and each replay) draws new delays
    squares = await asyncio.gather(*(context.step(_body(i, rng.uniform(0, 0.003))) for i in range(STEPS)))
    await context.wait(Duration.from_seconds(1))
    total = await context.step(lambda _: sum(squares), name="total")
    return {"squares": list(squares), "total": total}


def _step_results(result: ExecutionResult) -> dict[str, object]:
    """Operation id -> decoded result of each unnamed step."""
    return {op.id: op.result for op in result.operations if op.type == "STEP" and op.name is None}


def test_gathered_steps_keep_their_ids_and_results_over_runs() -> None:
    expected = {"squares": [i * i for i in range(STEPS)], "total": sum(i * i for i in range(STEPS))}
    seen: list[dict[str, object]] = []
    for _ in range(RUNS):
        ran.clear()
        with DurableTestRunner.start_time_skipping() as runner:
            result = runner.run(gathered)
        assert result.status == "SUCCEEDED", result.error
        assert result.result == expected
        assert result.invocations == 2  # the wait suspends; the replay resumes after it
        assert sorted(ran) == list(range(STEPS))  # every body once: the replay does not re-run them
        seen.append(_step_results(result))
    assert len(seen[0]) == STEPS
    assert sorted(seen[0].values(), key=str) == sorted((i * i for i in range(STEPS)), key=str)
    assert all(run == seen[0] for run in seen[1:])


def test_ids_are_taken_in_call_order() -> None:
    """The first step created gets the first id, even when it finishes last."""

    @durable_execution
    async def two(event: None, context: AsyncDurableContext) -> list[str]:
        async def slow(_: StepContext) -> str:
            await asyncio.sleep(0.01)
            return "slow"

        async def fast(_: StepContext) -> str:
            return "fast"

        return list(await asyncio.gather(context.step(slow), context.step(fast)))

    @durable_execution
    async def reference(event: None, context: AsyncDurableContext) -> list[str]:
        return [await context.step(lambda _: "slow"), await context.step(lambda _: "fast")]

    with DurableTestRunner.start_time_skipping() as runner:
        gathered_run, sequential_run = runner.run(two), runner.run(reference)
    assert gathered_run.result == ["slow", "fast"]
    assert _step_results(gathered_run) == _step_results(sequential_run)


def test_arun_awaits_an_execution_from_async_code() -> None:
    async def main() -> ExecutionResult:
        with DurableTestRunner.start_time_skipping() as runner:
            return await runner.arun(gathered)

    ran.clear()
    result = asyncio.run(main())
    assert result.status == "SUCCEEDED", result.error
    assert result.result["total"] == sum(i * i for i in range(STEPS))
