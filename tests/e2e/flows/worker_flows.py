"""A flow for the tests of several `perdure serve` workers on one database: one step that
writes the pid of the worker running it to the event's `trace` file, then runs while the
event's `hold` file exists (at most 60 s), and returns that pid."""

from __future__ import annotations

import os
import time
from typing import Any

from perdure import DurableContext, StepContext, durable_execution


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> int:
    def hold(step: StepContext) -> int:
        with open(event["trace"], "a") as trace:
            trace.write(f"{os.getpid()}\n")
        deadline = time.monotonic() + 60
        while os.path.exists(event["hold"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        return os.getpid()

    return context.step(hold, name="hold")
