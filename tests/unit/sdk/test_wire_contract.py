"""Every request the SDK sends validates against the botocore Lambda input shapes."""

from __future__ import annotations

import contextlib
from typing import Any

from perdure.sdk.config import ChildConfig, Duration, StepConfig, StepSemantics
from perdure.sdk.context import DurableContext
from perdure.sdk.errors import StepError
from perdure.sdk.execution import durable_execution
from perdure.sdk.retries import RetryPresets
from tests.wirecheck import assert_valid_checkpoint_request, assert_valid_input

from .fakes import FakeService, run_to_end


@durable_execution
def workflow(event: Any, ctx: DurableContext) -> str:
    ctx.step(lambda _: {"a": [1, 2]}, name="plain")
    ctx.step(lambda s: s.attempt if s.attempt > 1 else int("x"), name="retry")
    with contextlib.suppress(StepError):
        ctx.step(lambda _: 1 / 0, config=StepConfig(retry_strategy=RetryPresets.none(), sub_type="Custom"))
    ctx.step(lambda _: None, config=StepConfig(step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY))
    ctx.wait(Duration.from_hours(1), name="hour")
    ctx.run_in_child_context(lambda c: c.step(lambda _: "é", name="inner"), name="child")
    ctx.run_in_child_context(lambda c: "x" * 300_000, config=ChildConfig(summary_generator=lambda r: "big"))
    return "y" * (6 * 1024 * 1024 - 10)


def test_requests_match_the_botocore_model() -> None:
    service = FakeService()
    service.page_size = 2
    output, _ = run_to_end(workflow, service)
    assert output == {"Status": "SUCCEEDED", "Result": ""}
    assert len(service.requests) > 5
    for request in service.requests:
        assert_valid_checkpoint_request(request)
    assert service.state_requests
    for state_request in service.state_requests:
        assert_valid_input("GetDurableExecutionState", state_request)
