"""3-12: the process crashes inside an at-least-once step in a child context; the re-run succeeds.

The first run of the step crashes (`os._exit`) after the step's START was checkpointed;
the next invocation runs the body again and records StepSucceeded with no second
StepStarted. The attempt counter lives in a local JSON file (path in
`$PERDURE_CONFORMANCE_STATE`, keyed by execution ARN) instead of a DynamoDB table.
Runs under process isolation.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from pathlib import Path

from perdure import AsyncDurableContext, durable_execution


def count_run(key: str) -> int:
    """Increment and return the number of runs recorded for `key`."""
    path = Path(os.environ.get("PERDURE_CONFORMANCE_STATE", ".perdure/conformance-state.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read()
        counts = json.loads(text) if text.strip() else {}
        counts[key] = counts.get(key, 0) + 1
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(counts))
        return int(counts[key])


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    arn = context.execution_context.durable_execution_arn

    async def work(_: object) -> str:
        if count_run(arn) == 1:
            await asyncio.sleep(1)  # let the asynchronous START checkpoint reach the engine
            os._exit(1)
        return event

    async def body(child: AsyncDurableContext) -> str:
        return await child.step(work)

    return await context.run_in_child_context(body)
