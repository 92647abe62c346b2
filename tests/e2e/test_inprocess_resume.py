"""In-process resume on the engine, real clock: a map branch suspended on a short wait
resumes inside the same invocation, because the checkpoint response of the coordinator's
refresh carries the WAIT the service completed meanwhile (docs/engine.md, "What a
checkpoint response carries")."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from perdure import DurableContext, Duration, MapConfig, durable_execution
from perdure.testing import DurableTestRunner
from perdure.wire.types import EventType


@durable_execution
def _map_with_a_short_wait(event: Any, context: DurableContext) -> list[str]:
    def branch(ctx: DurableContext, item: str, index: int, _items: Any) -> str:
        if item == "wait":
            ctx.wait(Duration.from_seconds(1), name="short")
            return "waited"

        def work(_: Any) -> str:
            time.sleep(1.5)
            return "worked"

        return ctx.step(work, name="work")

    result = context.map(["wait", "work"], branch, name="items", config=MapConfig(max_concurrency=2))
    return list(result.get_results())


def test_a_branch_waiting_resumes_in_the_same_invocation(tmp_path: Path) -> None:
    with DurableTestRunner.start_local(str(tmp_path / "perdure.db")) as runner:
        started = time.monotonic()
        result = runner.run(_map_with_a_short_wait)
        elapsed = time.monotonic() - started
    assert result.succeeded, result.history_json()
    assert result.result == ["waited", "worked"]
    completed = [e for e in result.history if e.event_type is EventType.INVOCATION_COMPLETED]
    assert len(completed) == 1, [e.event_type.value for e in result.history]
    assert elapsed < 5
