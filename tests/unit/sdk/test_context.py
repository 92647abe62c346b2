"""perdure.sdk.context: ids, names, replay status and validation."""

from __future__ import annotations

from typing import Any

import pytest

from perdure.sdk.config import Duration, StepConfig
from perdure.sdk.context import DurableContext, durable_wait_for_callback
from perdure.sdk.errors import ValidationError
from perdure.sdk.execution import durable_execution
from perdure.sdk.ids import operation_id
from perdure.sdk.types import WaitForCallbackContext

from .fakes import FakeService, run_to_end


def test_ids_names_and_subtypes() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        ctx.step(lambda _: 1)
        ctx.step(lambda _: 2, name="named", config=StepConfig(sub_type="Custom"))
        assert ctx.execution_context.durable_execution_arn == ctx.state.durable_execution_arn
        assert ctx.lambda_context == "lambda-context"

    service = FakeService()
    handler(service.invocation(), "lambda-context")
    starts = [u for u in service.updates() if u.action.value == "START"]
    assert [(u.id, u.name, u.sub_type) for u in starts] == [
        (operation_id(None, 1), None, "Step"),
        (operation_id(None, 2), "named", "Custom"),
    ]


def test_replay_status_flips_at_the_first_new_operation() -> None:
    observed: list[tuple[str, bool]] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        observed.append(("start", ctx.is_replaying()))
        ctx.step(lambda _: 1, name="a")
        observed.append(("after a", ctx.is_replaying()))
        ctx.wait(Duration(1))
        observed.append(("after wait", ctx.is_replaying()))
        ctx.step(lambda _: 2, name="b")

    run_to_end(handler, FakeService())
    assert observed == [
        ("start", False),
        ("after a", False),
        ("start", True),
        ("after a", True),
        ("after wait", False),
    ]


def test_name_length_is_validated() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        with pytest.raises(ValidationError, match="256"):
            ctx.step(lambda _: 1, name="n" * 257)

    output, _ = run_to_end(handler, FakeService())
    assert output["Status"] == "SUCCEEDED"


def test_child_context_ids_are_prefixed() -> None:
    ids: list[str] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        child = ctx.create_child_context("abc")
        ids.append(child._create_step_id())
        assert child.is_virtual is False
        assert ctx.create_child_context("abc", is_virtual=True).is_virtual

    handler(FakeService().invocation(), None)
    assert ids == [operation_id("abc", 1)]


def test_durable_wait_for_callback_binds() -> None:
    @durable_wait_for_callback
    def submit(callback_id: str, context: WaitForCallbackContext, target: str) -> str:
        return f"{callback_id}->{target}"

    submitter = submit("svc")
    assert submitter._original_name == "submit"  # type: ignore[attr-defined]
    assert submitter("cb-1", WaitForCallbackContext(logger=None)) == "cb-1->svc"  # type: ignore[arg-type]
