"""perdure.sdk.operations.wait through a handler and the fake service."""

from __future__ import annotations

from typing import Any

import pytest

from perdure.sdk.config import Duration
from perdure.sdk.context import DurableContext
from perdure.sdk.errors import ValidationError
from perdure.sdk.execution import durable_execution

from .fakes import FakeService, run_to_end


def test_wait_suspends_then_completes() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        ctx.wait(Duration.from_minutes(2), name="pause")
        return "after"

    service = FakeService()
    assert handler(service.invocation(), None) == {"Status": "PENDING"}
    start = service.updates()[0]
    assert (start.type.value, start.action.value, start.sub_type, start.name) == (
        "WAIT",
        "START",
        "Wait",
        "pause",
    )
    assert start.wait_options.wait_seconds == 120  # type: ignore[union-attr]
    service.advance()
    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": '"after"'}
    assert len(service.requests) == 1


def test_wait_still_running_suspends_again_without_a_new_start() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        ctx.wait(Duration(5))
        return "x"

    service = FakeService()
    handler(service.invocation(), None)
    assert handler(service.invocation(), None) == {"Status": "PENDING"}
    assert len(service.requests) == 1


@pytest.mark.parametrize(
    ("seconds", "message"), [(0, "at least 1 second"), (31_622_401, "at most 31,622,400")]
)
def test_duration_bounds(seconds: int, message: str) -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        with pytest.raises(ValidationError, match=message):
            ctx.wait(Duration(seconds))
        ctx.wait(Duration(seconds))

    output, _ = run_to_end(handler, FakeService())
    assert output["Status"] == "FAILED" and message in output["Error"]["ErrorMessage"]
