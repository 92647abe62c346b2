"""2-3: two sequential named waits, each one its own suspension."""

from __future__ import annotations

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def handler(event: None, context: DurableContext) -> dict[str, int]:
    completed = 0
    for name in ("wait-1", "wait-2"):
        context.wait(Duration.from_seconds(2), name=name)
        completed += 1
    return {"completedWaits": completed}
