"""Crashes its process (os._exit) the first time its step runs, then succeeds.

The run counter is a file next to `$CRASH_ONCE_COUNTER`.
"""

from __future__ import annotations

import os
from pathlib import Path

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    def fragile(_: object) -> str:
        counter = Path(os.environ["CRASH_ONCE_COUNTER"])
        runs = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(runs))
        if runs == 1:
            os._exit(1)
        return f"survived {event}"

    return context.step(fragile, name="fragile")
