"""perdure.sdk.context: ids, names, replay status and validation."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from perdure.sdk.aio import AsyncDurableContext
from perdure.sdk.config import Duration, StepConfig
from perdure.sdk.context import (
    DurableContext,
    durable_step,
    durable_wait_for_callback,
    durable_with_child_context,
)
from perdure.sdk.errors import ValidationError
from perdure.sdk.execution import durable_execution
from perdure.sdk.ids import operation_id
from perdure.sdk.types import StepContext, WaitForCallbackContext
from perdure.testing import DurableTestRunner

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


@durable_step
def reserve(step: StepContext, sku: str) -> str:
    return f"reserved {sku}"


@durable_with_child_context
def pack(child: DurableContext, sku: str) -> str:
    return f"packed {sku}"


@durable_wait_for_callback
def ask_manager(callback_id: str, context: WaitForCallbackContext, who: str) -> None:
    pass


@pytest.mark.parametrize(
    ("operation", "use"),
    [
        ("step", lambda ctx: ctx.step(reserve)),
        ("run_in_child_context", lambda ctx: ctx.run_in_child_context(pack)),
        ("wait_for_callback", lambda ctx: ctx.wait_for_callback(ask_manager)),
    ],
)
def test_a_decorated_function_passed_uncalled_is_refused_naming_the_call_to_write(
    operation: str, use: Any
) -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return use(ctx)

    service = FakeService()
    output, _ = run_to_end(handler, service)
    assert output["Status"] == "FAILED"
    error = output["Error"]
    assert error["ErrorType"].endswith("DurableUsageError")
    name = {"step": "reserve", "run_in_child_context": "pack", "wait_for_callback": "ask_manager"}[operation]
    assert error["ErrorMessage"].startswith(f"{operation} was given the @")
    assert f"function {name!r} itself: pass {name}(...)" in error["ErrorMessage"]
    assert service.updates() == []  # refused before anything is checkpointed


@pytest.mark.parametrize(
    ("factory", "shown", "parameter"),
    [
        (reserve, "@durable_step reserve(sku)", "sku"),
        (pack, "@durable_with_child_context pack(sku)", "sku"),
        (ask_manager, "@durable_wait_for_callback ask_manager(who)", "who"),
    ],
)
def test_a_factory_given_arguments_its_function_cannot_take_raises_at_the_call(
    factory: Any, shown: str, parameter: str
) -> None:
    # At the call, not in every attempt of the operation (a step's retries would repeat it).
    with pytest.raises(TypeError, match=rf"{re.escape(shown)} cannot take these arguments: too many"):
        factory("a", "b")
    with pytest.raises(TypeError, match="missing a required argument"):
        factory()
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        factory("a", colour="red")
    assert callable(factory("a")) and callable(factory(**{parameter: "a"}))


def test_a_decorated_step_passed_uncalled_is_refused_on_the_async_face() -> None:
    @durable_execution
    async def handler(event: Any, ctx: AsyncDurableContext) -> Any:
        return await ctx.step(reserve)  # type: ignore[arg-type]

    output, _ = run_to_end(handler, FakeService())
    assert output["Error"]["ErrorType"].endswith("DurableUsageError")
    assert "pass reserve(...)" in output["Error"]["ErrorMessage"]


def _inner_on_the_step(event: Any, ctx: DurableContext) -> Any:
    return ctx.step(lambda _: ctx.step(lambda _: 1, name="inner"), name="outer")


def _outer_in_a_map_item(event: Any, ctx: DurableContext) -> Any:
    return ctx.map([1, 2], lambda item_ctx, v, i, items: ctx.step(lambda _: v, name=f"item {v}"), name="m")


def _outer_in_a_branch(event: Any, ctx: DurableContext) -> Any:
    return ctx.parallel([lambda branch: ctx.step(lambda _: 1, name="branch step")], name="both")


def _outer_in_a_submitter(event: Any, ctx: DurableContext) -> Any:
    return ctx.wait_for_callback(lambda callback_id, _: ctx.step(lambda _: 1, name="send"), name="approval")


def _grandparent_in_a_nested_child(event: Any, ctx: DurableContext) -> Any:
    return ctx.run_in_child_context(
        lambda child: child.run_in_child_context(lambda grandchild: ctx.step(lambda _: 1, name="deep")),
        name="kid",
    )


def _outer_in_a_child(event: Any, ctx: DurableContext) -> Any:
    return ctx.run_in_child_context(
        lambda child: ctx.wait(Duration.from_seconds(1), name="pause"), name="kid"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_inner_on_the_step, "Step 'inner' was started on a context that is running its Step 'outer'"),
        (_outer_in_a_map_item, "was started on a context that is running its Map 'm'"),
        (
            _outer_in_a_child,
            "Wait 'pause' was started on a context that is running its RunInChildContext 'kid'",
        ),
        (
            _outer_in_a_branch,
            "Step 'branch step' was started on a context that is running its Parallel 'both'",
        ),
        (
            _grandparent_in_a_nested_child,
            "Step 'deep' was started on a context that is running its RunInChildContext 'kid'",
        ),
    ],
)
def test_an_operation_on_a_context_busy_with_another_fails_at_once(body: Any, message: str) -> None:
    # Replayed later, such an operation would take another's id (or a thread's turn): the
    # first run fails instead, naming both operations.
    service = FakeService()
    output, _ = run_to_end(durable_execution(body), service)
    assert output["Status"] == "FAILED"
    assert output["Error"]["ErrorType"].endswith("DurableUsageError")
    assert message in output["Error"]["ErrorMessage"]
    assert "item 1" not in [u.name for u in service.updates()]  # nothing of the misuse was recorded


def test_each_context_runs_its_own_operations_inside_another() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        mapped = ctx.map([1, 2], lambda item_ctx, v, i, items: item_ctx.step(lambda _: v * 10), name="m")
        child = ctx.run_in_child_context(lambda c: c.step(lambda _: 5) + c.step(lambda _: 6), name="kid")
        return [*mapped.get_results(), child, ctx.step(lambda _: 7)]

    output, _ = run_to_end(handler, FakeService())
    assert output["Status"] == "SUCCEEDED", output
    assert json.loads(output["Result"]) == [10, 20, 11, 7]


def test_a_wait_for_callback_submitter_using_the_outer_context_fails_at_once() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(durable_execution(_outer_in_a_submitter))
    assert result.status == "FAILED" and result.error is not None
    assert (result.error.error_type or "").endswith("DurableUsageError")
    assert "running its WaitForCallback 'approval': a step's function (a wait_for_condition check, a" in (
        result.error.error_message or ""
    )
