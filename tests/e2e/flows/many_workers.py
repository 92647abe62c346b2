"""The flow of the multi-worker end-to-end test: steps, a retried step, an at-most-once step,
a small map, a 1 s wait and a callback answered from outside, for input `{"name": N, "n": K}`.

It appends lines to the file `$MANY_WORKERS_LOG`, each with one `O_APPEND` write (atomic, so
lines of concurrent writers and of killed processes never mix):
- `run N STEP ATTEMPT`: the body of the at-most-once step `STEP` began attempt ATTEMPT; it
  runs only after the SDK had the step's START acknowledged;
- `ack N EVENT NAME`: the handler saw the checkpoint recorded as the history event EVENT of
  the operation named NAME acknowledged (a step, the map or the callback returned, a retry's
  next attempt began, the wait returned), so that event must be in the execution's history
  exactly once; logged again by each replay that sees it;
- `callback N ID`: the submitter hands out the callback id ID; the test answers it with
  `"ok-N"`.
"""

from __future__ import annotations

import json
import os
from typing import Any

from perdure import (
    DurableContext,
    Duration,
    JitterStrategy,
    MapConfig,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    StepSemantics,
    WaitForCallbackConfig,
    create_retry_strategy,
    durable_execution,
)

RETRY = create_retry_strategy(
    RetryStrategyConfig(
        max_attempts=20, initial_delay=Duration.from_seconds(1), jitter_strategy=JitterStrategy.NONE
    )
)
AT_LEAST_ONCE = StepConfig(retry_strategy=RETRY)
AT_MOST_ONCE = StepConfig(retry_strategy=RETRY, step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)
CALLBACK = WaitForCallbackConfig(timeout=Duration.from_seconds(600), retry_strategy=RETRY)
MAP = MapConfig[int](max_concurrency=3)


class FlakyError(Exception):
    """The first attempt of the `flaky` step fails with it."""


def _log(*words: object) -> None:
    line = (" ".join(str(word) for word in words) + "\n").encode()
    fd = os.open(os.environ["MANY_WORKERS_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    name, n = event["name"], event["n"]

    double = context.step(lambda _: 2 * n, name="double", config=AT_LEAST_ONCE)
    _log("ack", name, "StepSucceeded", "double")

    def once(step: StepContext) -> int:
        _log("run", name, "once", step.attempt)
        return n + 1

    once_value = context.step(once, name="once", config=AT_MOST_ONCE)
    _log("ack", name, "StepSucceeded", "once")

    def flaky(step: StepContext) -> int:
        if step.attempt == 1:
            raise FlakyError(f"{name}: the first attempt fails")
        _log("ack", name, "StepFailed", "flaky")  # the first attempt's RETRY was recorded
        return n + 2

    flaky_value = context.step(flaky, name="flaky", config=AT_LEAST_ONCE)
    _log("ack", name, "StepSucceeded", "flaky")

    def square(child: DurableContext, item: int, index: int, _: object) -> int:
        value = child.step(lambda _: item * item, name=f"square-{index}", config=AT_LEAST_ONCE)
        _log("ack", name, "StepSucceeded", f"square-{index}")
        return value

    squares = context.map([n + i for i in range(3)], square, name="squares", config=MAP).get_results()
    for index in range(3):  # a branch's SUCCEED is sent before the map's, which is acknowledged
        _log("ack", name, "ContextSucceeded", f"map-item-{index}")
    _log("ack", name, "ContextSucceeded", "squares")

    context.wait(Duration.from_seconds(1), name="pause")
    _log("ack", name, "WaitStarted", "pause")
    _log("ack", name, "WaitSucceeded", "pause")

    def submit(callback_id: str, _: object) -> None:
        _log("callback", name, callback_id)

    approval = json.loads(context.wait_for_callback(submit, name="approval", config=CALLBACK))
    _log("ack", name, "ContextSucceeded", "approval")
    return {
        "double": double,
        "once": once_value,
        "flaky": flaky_value,
        "squares": squares,
        "approval": approval,
    }
