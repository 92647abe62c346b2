"""The traced step body the random-kill flows share.

`traced(name, value)` appends `<name> <attempt>` to `$CRASH_LOOP_TRACE` when it starts and
`<name> <attempt> done` when it ends, takes `$CRASH_LOOP_SLOW` seconds and returns `value`.
The kill tests read the trace to kill a run after it made progress, and to check which
attempts ran.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

from perdure import StepContext

T = TypeVar("T")


def traced(name: str, value: T) -> Callable[[StepContext], T]:
    def run(step_context: StepContext) -> T:
        with open(os.environ["CRASH_LOOP_TRACE"], "a", encoding="utf-8") as trace:
            trace.write(f"{name} {step_context.attempt}\n")
        time.sleep(float(os.environ.get("CRASH_LOOP_SLOW", "0.2")))
        with open(os.environ["CRASH_LOOP_TRACE"], "a", encoding="utf-8") as trace:
            trace.write(f"{name} {step_context.attempt} done\n")
        return value

    return run
