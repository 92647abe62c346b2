"""Bad input, end to end: each gets a clear error naming the problem, and stored state stays intact.

The cases: a non-serialisable step result, a wait under 1 s, a 300 KiB step
result, a stale checkpoint token, a malformed invocation input. (A corrupted database file
is covered through the CLI in test_cli.py.)
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import pytest

from perdure import DurableContext, Duration, MapConfig, StepConfig, durable_execution
from perdure.sdk.execution import InvocationInputWithClient
from perdure.testing import DurableTestRunner
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    InvocationInput,
    OperationAction,
    OperationType,
    OperationUpdate,
)


@pytest.fixture
def runner() -> Any:
    with DurableTestRunner.start_time_skipping() as r:
        yield r


def _step_attempts(result: Any, name: str) -> int:
    return sum(1 for e in result.history if e.event_type.value == "StepStarted" and e.name == name)


def test_non_serialisable_step_result_fails_once_with_a_serdes_error(runner: Any) -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.step(lambda _: threading.Lock(), name="make_lock")

    result = runner.run(handler)
    assert result.status == "FAILED"
    assert "SerDesError" in (result.error.error_type or "")
    assert "make_lock" in (result.error.error_message or "") or "lock" in (result.error.error_message or "")
    assert _step_attempts(result, "make_lock") == 1  # a serdes error is not retried


def test_wait_under_one_second_is_refused_before_anything_is_checkpointed(runner: Any) -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        ctx.wait(Duration(0), name="too_short")
        return "unreachable"

    result = runner.run(handler)
    assert result.status == "FAILED"
    assert "at least 1 second" in (result.error.error_message or "")
    assert not any(e.name == "too_short" for e in result.history)


@pytest.mark.parametrize(
    ("operation", "name", "expected"),
    [
        (operation, name, "printable ASCII")
        for operation in ("step", "wait", "map item")
        for name in ("café", "tab\there")
    ]
    # An empty step name means the function's name; elsewhere it is refused.
    + [("wait", "", "must not be empty"), ("map item", "", "must not be empty")],
)
def test_a_name_the_service_would_refuse_is_refused_before_anything_is_checkpointed(
    runner: Any, operation: str, name: str, expected: str
) -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        ctx.step(lambda _: 1, name="first")
        if operation == "step":
            ctx.step(lambda _: 2, name=name)
        elif operation == "wait":
            ctx.wait(Duration.from_seconds(1), name=name)
        else:
            ctx.map(
                [1], lambda c, item, index, items: item, config=MapConfig(item_namer=lambda item, i: name)
            )
        return "unreachable"

    result = runner.run(handler)
    assert result.status == "FAILED"
    assert "ValidationError" in (result.error.error_type or "")
    message = result.error.error_message or ""
    assert expected in message and "name" in message, message
    # Only what came before was recorded; nothing reached the service to be refused there.
    assert [e.name for e in result.history if e.event_type.value == "StepSucceeded"] == ["first"]


def test_300_kib_step_result_is_a_clear_non_retried_error(runner: Any) -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.step(lambda _: "x" * (300 * 1024), name="big", config=StepConfig())

    result = runner.run(handler)
    assert result.status == "FAILED"
    message = result.error.error_message or ""
    assert "big" in message and "262144" in message.replace(",", "") and "307202" in message.replace(",", "")
    assert _step_attempts(result, "big") == 1
    # nothing over the limit was stored
    assert all(
        len((e.details.result.payload or "") if e.details.result else "") <= 262144 for e in result.history
    )


def test_stale_checkpoint_token_is_refused_and_changes_nothing(runner: Any) -> None:
    seen: dict[str, Any] = {}

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        value = ctx.step(lambda _: 1, name="one")
        ctx.wait(Duration.from_seconds(5), name="pause")
        return value

    @functools.wraps(handler)  # a lambda handler already: the runner must not wrap it again
    def spy(event: Any, lambda_context: Any) -> Any:
        if isinstance(event, InvocationInputWithClient):
            seen.setdefault("tokens", []).append(event.input.checkpoint_token)
            seen["client"] = event.client
            seen["arn"] = event.input.durable_execution_arn
        return handler(event, lambda_context)

    result = runner.run(spy)
    assert result.status == "SUCCEEDED" and len(seen["tokens"]) == 2
    before = runner.engine.history(seen["arn"])
    stale = seen["tokens"][0]
    request = CheckpointDurableExecutionRequest(
        durable_execution_arn=seen["arn"],
        checkpoint_token=stale,
        updates=(OperationUpdate(id="late", type=OperationType.STEP, action=OperationAction.START),),
    )
    with pytest.raises(InvalidParameterValueError, match="Invalid checkpoint token"):
        seen["client"].checkpoint_durable_execution(request)
    assert runner.engine.history(seen["arn"]) == before


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ({"CheckpointToken": "abc"}, "DurableExecutionArn"),
        ({"DurableExecutionArn": None, "CheckpointToken": "abc"}, "DurableExecutionArn (null)"),
        ("just a string", "str"),
    ],
)
def test_malformed_invocation_input_names_what_is_wrong(event: Any, fragment: str) -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return "unreachable"

    with pytest.raises(Exception) as raised:
        output = handler(event, None)
        # a handler may also answer with a FAILED output instead of raising
        assert output["Status"] == "FAILED"
        raise AssertionError(output["Error"]["ErrorMessage"])
    assert fragment in str(raised.value)


def test_an_empty_id_runs_the_handler_as_the_official_sdk_runs_it() -> None:
    @durable_execution(boto3_client=object())  # no service call is made
    def handler(event: Any, ctx: DurableContext) -> Any:
        return "ran"

    bare = InvocationInput(durable_execution_arn="", checkpoint_token="t")
    assert handler(bare, None) == {"Status": "SUCCEEDED", "Result": '"ran"'}
