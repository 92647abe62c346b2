"""Handlers for the no-head-of-line-blocking tests: a step the test holds open, and a quick one.

`held` signals that its step runs by creating `event["started"]`, then blocks until the
test creates `event["release"]`: the test decides when it ends, no timing involved.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from perdure import DurableContext, durable_execution

_POLL_SECONDS = 0.02
_GIVE_UP_SECONDS = 120.0
"""A released file that never comes (a failed test) ends the step instead of hanging the server."""


def _hold(started: Path, release: Path) -> str:
    started.touch()
    deadline = time.monotonic() + _GIVE_UP_SECONDS
    while not release.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{release} never appeared")
        time.sleep(_POLL_SECONDS)
    return "released"


@durable_execution
def held(event: dict[str, Any], context: DurableContext) -> str:
    """One step that runs until the file `event["release"]` exists."""
    return context.step(lambda _: _hold(Path(event["started"]), Path(event["release"])), name="held")


@durable_execution
def quick(event: dict[str, Any], context: DurableContext) -> str:
    """One step that returns at once."""
    return context.step(lambda _: f"quick-{event.get('n', 0)}", name="quick")
