"""perdure.sdk.operations.step through a handler and the fake service."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, TypeVar

from perdure.sdk.config import Duration, StepConfig, StepSemantics
from perdure.sdk.context import DurableContext, durable_step
from perdure.sdk.errors import ExecutionError, SerDesError, StepError, StepInterruptedError
from perdure.sdk.execution import durable_execution
from perdure.sdk.ids import operation_id
from perdure.sdk.retries import RetryDecision, RetryPresets
from perdure.sdk.types import StepContext
from perdure.wire.types import Operation, OperationStatus, OperationType, StepDetails

from .fakes import NOW, FakeService, run_to_end

FIRST = operation_id(None, 1)

R = TypeVar("R")


def _note(log: list[int], result: R) -> R:
    log.append(1)
    return result


def test_first_run_returns_the_round_trip_and_replay_the_same() -> None:
    seen: list[Any] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        value = ctx.step(lambda _: {"when": date(2024, 1, 2), "pair": (1, 2)}, name="s")
        seen.append(value)
        ctx.wait(Duration(1))
        return "ok"

    run_to_end(handler, FakeService())
    assert seen[0] == seen[1] == {"when": date(2024, 1, 2), "pair": (1, 2)}


def test_durable_step_names_the_operation_and_passes_args() -> None:
    @durable_step
    def add(step_context: StepContext, a: int, b: int) -> int:
        assert step_context.attempt == 1
        return a + b

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.step(add(2, 3))

    service = FakeService()
    output, _ = run_to_end(handler, service)
    assert output == {"Status": "SUCCEEDED", "Result": "5"}
    assert [u.name for u in service.updates()] == ["add", "add"]
    assert [u.sub_type for u in service.updates()] == ["Step", "Step"]


def test_retry_then_success_with_attempts() -> None:
    attempts: list[int] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        def flaky(step_context: StepContext) -> int:
            attempts.append(step_context.attempt)
            if step_context.attempt < 3:
                raise KeyError("k")
            return step_context.attempt

        return ctx.step(flaky, name="flaky")

    service = FakeService()
    output, invocations = run_to_end(handler, service)
    assert output["Result"] == "3" and invocations == 3 and attempts == [1, 2, 3]
    retries = [u for u in service.updates() if u.action.value == "RETRY"]
    assert [r.error.error_type for r in retries] == ["KeyError", "KeyError"]  # type: ignore[union-attr]
    assert all(r.step_options.next_attempt_delay_seconds >= 1 for r in retries)  # type: ignore[union-attr,operator]


def test_pending_retry_suspends_without_running() -> None:
    calls: list[int] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.step(lambda s: _note(calls, 1), name="s")

    service = FakeService()
    service._put(
        Operation(
            id=FIRST,
            type=OperationType.STEP,
            status=OperationStatus.PENDING,
            start_timestamp=NOW,
            name="s",
            sub_type="Step",
            step_details=StepDetails(attempt=1, next_attempt_timestamp=NOW),
        )
    )
    assert handler(service.invocation(), None) == {"Status": "PENDING"}
    assert calls == [] and service.requests == []


def test_exhausted_retries_fail_and_replay_raises_the_same_error() -> None:
    caught: list[tuple[str, str | None, str]] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        try:
            ctx.step(lambda _: int("x"), name="bad", config=StepConfig(retry_strategy=RetryPresets.none()))
        except StepError as error:
            caught.append((type(error).__name__, error.message, error.error_type))
        ctx.wait(Duration(1))
        return "done"

    service = FakeService()
    output, _ = run_to_end(handler, service)
    assert output["Status"] == "SUCCEEDED"
    assert (
        caught[0] == caught[1] == ("StepError", "invalid literal for int() with base 10: 'x'", "ValueError")
    )


def test_uncaught_step_error_fails_the_execution() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        ctx.step(lambda _: 1 / 0, name="div", config=StepConfig(retry_strategy=RetryPresets.none()))

    output, _ = run_to_end(handler, FakeService())
    assert output["Status"] == "FAILED"
    assert output["Error"] == {
        "ErrorMessage": "division by zero",
        "ErrorType": "perdure.sdk.errors.StepError",
    }


def test_unserializable_result_fails_without_retry() -> None:
    calls: list[int] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        ctx.step(lambda _: _note(calls, object()), name="obj")

    service = FakeService()
    output, invocations = run_to_end(handler, service)
    assert invocations == 1 and calls == [1]
    assert output["Status"] == "FAILED"
    assert output["Error"]["ErrorType"] == "perdure.sdk.errors.SerDesError"
    assert "builtins.object" in output["Error"]["ErrorMessage"]
    assert service.actions() == [("STEP", "START"), ("STEP", "FAIL")]


def test_oversized_result_is_refused_before_sending() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        ctx.step(lambda _: "x" * (300 * 1024), name="big")

    service = FakeService()
    output, _ = run_to_end(handler, service)
    message = output["Error"]["ErrorMessage"]
    assert output["Status"] == "FAILED"
    assert "'big'" in message and "307,202 bytes" in message and "262,144" in message and "serdes" in message
    assert all(len(u.payload or "") < 1000 for u in service.updates())


def test_serdes_error_is_catchable_as_serdes_error() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        try:
            ctx.step(lambda _: object(), name="opaque")
        except SerDesError:
            return "caught"
        return "not caught"

    output, _ = run_to_end(handler, FakeService())
    assert output["Result"] == json.dumps("caught")


def _started(attempt: int = 0) -> Operation:
    return Operation(
        id=FIRST,
        type=OperationType.STEP,
        status=OperationStatus.STARTED,
        start_timestamp=NOW,
        name="s",
        sub_type="Step",
        step_details=StepDetails(attempt=attempt),
    )


def test_at_least_once_reruns_an_interrupted_attempt_without_a_new_start() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.step(lambda s: s.attempt, name="s")

    service = FakeService()
    service._put(_started())
    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": "1"}
    assert service.actions() == [("STEP", "SUCCEED")]


def test_at_most_once_does_not_rerun_an_interrupted_attempt() -> None:
    calls: list[int] = []
    errors: list[Exception] = []

    def strategy(error: Exception, attempts: int) -> RetryDecision:
        errors.append(error)
        return RetryDecision.no_retry()

    config = StepConfig(retry_strategy=strategy, step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.step(lambda s: _note(calls, 1), name="s", config=config)

    service = FakeService()
    service._put(_started())
    output = handler(service.invocation(), None)
    assert calls == [] and isinstance(errors[0], StepInterruptedError)
    assert output["Status"] == "FAILED"
    assert service.actions() == [("STEP", "FAIL")]


def test_at_most_once_persists_start_before_running() -> None:
    service = FakeService()
    sent_before_body: list[int] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        config = StepConfig(step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)

        def body(_: StepContext) -> int:
            sent_before_body.append(len(service.requests))
            return 7

        return ctx.step(body, name="s", config=config)

    assert handler(service.invocation(), None)["Result"] == "7"
    assert sent_before_body == [1]
    assert [len(r.updates) for r in service.requests] == [1, 1]


def test_execution_error_in_a_step_is_not_retried() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        def body(_: StepContext) -> None:
            raise ExecutionError("fatal")

        ctx.step(body, name="s")

    service = FakeService()
    output, invocations = run_to_end(handler, service)
    assert invocations == 1 and output["Status"] == "FAILED"
    assert output["Error"]["ErrorType"] == "perdure.sdk.errors.ExecutionError"
