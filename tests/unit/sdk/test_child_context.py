"""perdure.sdk.operations.child_context through a handler and the fake service."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import pytest

from perdure.sdk.config import ChildConfig, Duration, StepConfig
from perdure.sdk.context import DurableContext, durable_with_child_context
from perdure.sdk.errors import ChildContextError
from perdure.sdk.execution import durable_execution
from perdure.sdk.ids import operation_id
from perdure.sdk.retries import RetryPresets
from perdure.sdk.serdes import SerDes, SerDesContext

from .fakes import FakeService, run_to_end

CTX = operation_id(None, 1)

R = TypeVar("R")


def _note(log: list[int], result: R) -> R:
    log.append(1)
    return result


def test_child_groups_its_operations() -> None:
    @durable_with_child_context
    def child(ctx: DurableContext, n: int) -> int:
        return ctx.step(lambda _: n * 2, name="double")

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.run_in_child_context(child(21))

    service = FakeService()
    output, _ = run_to_end(handler, service)
    assert output["Result"] == "42"
    updates = service.updates()
    assert [(u.type.value, u.action.value) for u in updates] == [
        ("CONTEXT", "START"),
        ("STEP", "START"),
        ("STEP", "SUCCEED"),
        ("CONTEXT", "SUCCEED"),
    ]
    assert updates[0].name == "child" and updates[0].sub_type == "RunInChildContext" and updates[0].id == CTX
    assert updates[1].parent_id == CTX and updates[1].id == operation_id(CTX, 1)
    assert updates[3].payload == "42" and updates[3].context_options.replay_children is False  # type: ignore[union-attr]


def test_replay_returns_the_recorded_result_without_running() -> None:
    runs: list[int] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        value = ctx.run_in_child_context(lambda c: _note(runs, "v"), name="c")
        ctx.wait(Duration(1))
        return value

    output, invocations = run_to_end(handler, FakeService())
    assert output["Result"] == '"v"' and invocations == 2 and runs == [1]


def test_large_result_replays_children(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        def body(child: DurableContext) -> str:
            runs.append(1)
            child.logger.with_is_replaying(lambda: False).info("input %s", event)
            small = child.step(lambda _: "ab", name="small")
            return small * (150 * 1024)

        big = ctx.run_in_child_context(body, name="big")
        ctx.wait(Duration(1))
        return len(big)

    service = FakeService('"INPUT-1"')
    with caplog.at_level(logging.INFO):
        output, invocations = run_to_end(handler, service)
    assert output["Result"] == str(300 * 1024) and invocations == 2 and runs == [1, 1]
    succeed = [u for u in service.updates() if u.type.value == "CONTEXT" and u.action.value == "SUCCEED"]
    assert len(succeed) == 1
    assert succeed[0].payload == "" and succeed[0].context_options.replay_children is True  # type: ignore[union-attr]
    assert [r.getMessage() for r in caplog.records].count("input INPUT-1") == 2
    assert all(getattr(r, "executionArn", None) == service.arn for r in caplog.records)


def test_summary_generator() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        config: ChildConfig[str] = ChildConfig(summary_generator=lambda r: f"len={len(r)}")
        return len(ctx.run_in_child_context(lambda c: "x" * 300_000, name="c", config=config))

    service = FakeService()
    run_to_end(handler, service)
    assert service.updates()[-1].payload == "len=300000"


def test_failure_is_recorded_and_raised_as_child_context_error() -> None:
    seen: list[tuple[str | None, str]] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        def body(child: DurableContext) -> None:
            child.step(lambda _: 1 / 0, name="div", config=StepConfig(retry_strategy=RetryPresets.none()))

        try:
            ctx.run_in_child_context(body, name="c")
        except ChildContextError as error:
            seen.append((error.message, error.error_type))
        ctx.wait(Duration(1))
        return "ok"

    service = FakeService()
    output, _ = run_to_end(handler, service)
    assert output["Status"] == "SUCCEEDED"
    assert seen == [("division by zero", "perdure.sdk.errors.StepError")] * 2
    fail = service.updates()[-2]
    assert (fail.type.value, fail.action.value) == ("CONTEXT", "FAIL")


def test_direct_raise_records_the_raw_type() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        def body(child: DurableContext) -> None:
            raise ValueError("nope")

        ctx.run_in_child_context(body, name="c")

    service = FakeService()
    output, _ = run_to_end(handler, service)
    assert output["Error"] == {"ErrorMessage": "nope", "ErrorType": "perdure.sdk.errors.ChildContextError"}
    assert service.updates()[-1].error.error_type == "ValueError"  # type: ignore[union-attr]


def test_custom_serdes() -> None:
    class Upper(SerDes[str]):
        def serialize(self, value: str, serdes_context: SerDesContext) -> str:
            return value.upper()

        def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
            return data

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        return ctx.run_in_child_context(lambda c: "hello", name="c", config=ChildConfig(serdes=Upper()))

    service = FakeService()
    output, _ = run_to_end(handler, service)
    assert output["Result"] == '"HELLO"' and service.updates()[-1].payload == "HELLO"


def test_wait_inside_a_child_resumes() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        def body(child: DurableContext) -> str:
            child.wait(Duration(1), name="inner")
            return "done"

        result = ctx.run_in_child_context(body, name="c")
        return result + ctx.step(lambda _: "!", name="after")

    service = FakeService()
    output, invocations = run_to_end(handler, service)
    assert output["Result"] == '"done!"' and invocations == 2
    assert [(u.type.value, u.action.value) for u in service.updates()] == [
        ("CONTEXT", "START"),
        ("WAIT", "START"),
        ("CONTEXT", "SUCCEED"),
        ("STEP", "START"),
        ("STEP", "SUCCEED"),
    ]


def test_virtual_child_writes_no_context() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.run_in_child_context(
            lambda c: c.step(lambda _: 1, name="s"), name="v", config=ChildConfig(is_virtual=True)
        )

    service = FakeService()
    run_to_end(handler, service)
    assert [u.type.value for u in service.updates()] == ["STEP", "STEP"]
    assert service.updates()[0].parent_id is None and service.updates()[0].id == operation_id(CTX, 1)
