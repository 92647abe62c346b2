"""Handlers for the remote-function end-to-end tests: served by a Lambda Invoke API host in
another process (`perdure.link.lambda_host`), or run in process, with the same results."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from perdure import DurableContext, Duration, MapConfig, StepContext, durable_execution

BIG = 220_000
"""Characters of one big step result: 30 of them make a state over 6 MB."""


@durable_execution
def journey(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    """Steps, a wait, a map whose results (over 256 KiB) are rebuilt by replaying its children,
    and a chained invoke of the remote function `doubler`."""
    first = context.step(lambda _: 20, name="first")
    context.wait(Duration.from_seconds(60), name="pause")
    filled = context.map(
        list(range(6)),
        lambda ctx, item, index, items: ctx.step(lambda _: "x" * 40_000 * (item + 1), name="fill"),
        name="fill-all",
        config=MapConfig(max_concurrency=1),  # one order of events on every link
    ).get_results()
    sizes = [len(text) for text in filled]
    doubled = context.invoke("doubler", {"n": first + 1}, name="double")
    return {"first": first, "sizes": sizes, "doubled": doubled}


@durable_execution
def doubler(event: dict[str, Any], context: DurableContext) -> int:
    return int(context.step(lambda _: event["n"] * 2, name="double"))


@durable_execution
def big_state(event: dict[str, Any], context: DurableContext) -> int:
    """`event["steps"]` step results of `BIG` characters, then a wait: the invocation after the
    wait gets a state over Lambda's 6 MB invoke payload, which must be paged."""
    steps = int(event.get("steps", 30))
    lengths = [len(context.step(lambda _, i=i: str(i % 10) * BIG, name=f"big{i}")) for i in range(steps)]
    context.wait(Duration.from_seconds(5), name="rest")
    return sum(lengths) + len(context.step(lambda _: "done", name="after"))


@durable_execution
def crash_once(event: dict[str, Any], context: DurableContext) -> str:
    """Kills its own process (the function host) after its first step, the first time only."""
    marker = Path(event["marker"])
    before = context.step(lambda _: "before", name="before")
    if not marker.exists():
        marker.write_text("crashed")
        os._exit(1)
    return before + "-" + context.step(lambda _: "after", name="after")


@durable_execution
def hang_once(event: dict[str, Any], context: DurableContext) -> str:
    """Does not answer within the invocation timeout the first time (it sleeps in a step)."""
    marker = Path(event["marker"])

    def slow(_: StepContext) -> str:
        if not marker.exists():
            marker.write_text("hung")
            time.sleep(float(event.get("sleep", 30)))
        return "awake"

    return context.step(slow, name="slow")


def unhandled(event: Any, context: Any) -> Any:
    """Not a durable handler: raises before any output, so the host answers with
    `X-Amz-Function-Error` (as Lambda does for an exception its runtime catches)."""
    raise RuntimeError("boom before any output")


def garbage(event: Any, context: Any) -> Any:
    """Answers with something that is not an invocation output."""
    return {"hello": "world"}


@durable_execution
def caller(event: dict[str, Any], context: DurableContext) -> int:
    """Invokes the function `doubler` (a remote one, in the command-line tests)."""
    return int(context.invoke("doubler", {"n": event["n"]}, name="call"))


@durable_execution
def rendezvous(event: dict[str, Any], context: DurableContext) -> str:
    """Marks its arrival, then waits (in a step) until the other execution has arrived: two
    executions of it both end only if they are invoked at the same time."""
    folder = Path(event["folder"])

    def meet(_: StepContext) -> str:
        (folder / event["me"]).write_text("here")
        deadline = time.monotonic() + 30
        while not (folder / event["other"]).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{event['other']} never arrived")
            time.sleep(0.01)
        return "met"

    return context.step(meet, name="meet")
