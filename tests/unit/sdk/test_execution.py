"""perdure.sdk.execution: the handler contract."""

from __future__ import annotations

from typing import Any

import pytest

from perdure.sdk.config import Duration
from perdure.sdk.context import DurableContext
from perdure.sdk.errors import CheckpointError, ExecutionError, PluginLoadError
from perdure.sdk.execution import InvocationInputWithClient, durable_execution
from perdure.wire.codec import from_wire, to_wire
from perdure.wire.errors import InvalidParameterValueError, ServiceError
from perdure.wire.types import CheckpointDurableExecutionRequest, GetDurableExecutionStateRequest

from .fakes import FakeService, run_to_end


@durable_execution
def echo(event: Any, ctx: DurableContext) -> Any:
    return event


@pytest.mark.parametrize(
    ("payload", "result"), [('{"a": 1}', '{"a": 1}'), ("", "{}"), (None, "{}"), ("null", "null")]
)
def test_input_payload(payload: str | None, result: str) -> None:
    assert echo(FakeService(payload).invocation(), None) == {"Status": "SUCCEEDED", "Result": result}


def test_decorator_with_options_and_metadata() -> None:
    @durable_execution()
    def handler(event: Any, ctx: DurableContext) -> int:
        return 1

    assert handler.__name__ == "handler"
    assert handler(FakeService().invocation(), None)["Result"] == "1"
    with pytest.raises(PluginLoadError):
        durable_execution(plugins=[object()])


class BotoAdapter:
    """A boto3-shaped client (kwargs in, dicts out) in front of the fake service."""

    def __init__(self, service: FakeService) -> None:
        self.service = service

    def checkpoint_durable_execution(self, **kwargs: Any) -> dict[str, Any]:
        request = from_wire(CheckpointDurableExecutionRequest, kwargs, timestamps="datetime")
        return to_wire(self.service.checkpoint_durable_execution(request), timestamps="datetime")

    def get_durable_execution_state(self, **kwargs: Any) -> dict[str, Any]:
        request = from_wire(GetDurableExecutionStateRequest, kwargs, timestamps="datetime")
        return to_wire(self.service.get_durable_execution_state(request), timestamps="datetime")


def test_aws_event_dict_runs_through_the_boto3_client() -> None:
    service = FakeService('"x"')
    adapter = BotoAdapter(service)

    @durable_execution(boto3_client=adapter)
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.step(lambda _: event + "!", name="s")

    event = to_wire(service.invocation().input, timestamps="epoch_millis")
    assert handler(event, None) == {"Status": "SUCCEEDED", "Result": '"x!"'}
    assert service.actions() == [("STEP", "START"), ("STEP", "SUCCEED")]


@pytest.mark.parametrize("arn", ["4b1e5c7a-0e6f-4f0c-9d0e-1c2b3a4d5e6f/2f1d", "exec-1", "arn:x"])
def test_any_non_empty_execution_id_is_accepted_as_the_official_sdk_accepts_it(arn: str) -> None:
    # The official testing library's emulator names executions with ids that are not ARNs.
    service = FakeService('"x"', arn=arn)
    adapter = BotoAdapter(service)

    @durable_execution(boto3_client=adapter)
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.step(lambda _: event + "!", name="s")

    event = to_wire(service.invocation().input, timestamps="epoch_millis")
    assert event["DurableExecutionArn"] == arn
    assert handler(event, None) == {"Status": "SUCCEEDED", "Result": '"x!"'}
    assert service.requests and {r.durable_execution_arn for r in service.requests} == {arn}


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ({"CheckpointToken": "t"}, "DurableExecutionArn"),
        ({"DurableExecutionArn": None, "CheckpointToken": "t"}, "DurableExecutionArn (null)"),
        (
            {"DurableExecutionArn": "a", "CheckpointToken": "t", "InitialExecutionState": []},
            "InitialExecutionState",
        ),
        ("nonsense", "str"),
    ],
)
def test_malformed_input_is_a_clear_error(event: Any, fragment: str) -> None:
    with pytest.raises(ExecutionError, match="malformed durable invocation input") as info:
        echo(event, None)
    assert fragment in str(info.value)


def test_invalid_json_input_fails() -> None:
    output = echo(FakeService("{not json").invocation(), None)
    assert output["Status"] == "FAILED" and "not valid JSON" in output["Error"]["ErrorMessage"]


def test_handler_exception_fails_with_bare_builtin_type() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        raise ValueError("boom")

    assert handler(FakeService().invocation(), None) == {
        "Status": "FAILED",
        "Error": {"ErrorMessage": "boom", "ErrorType": "ValueError"},
    }


def test_non_json_result_fails() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return {1, 2}

    output = handler(FakeService().invocation(), None)
    assert output["Status"] == "FAILED" and output["Error"]["ErrorType"] == "TypeError"


def test_large_result_goes_through_an_execution_update() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        return "x" * (6 * 1024 * 1024 - 20)

    service = FakeService()
    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": ""}
    update = service.completed
    assert update is not None and update.id.startswith("execution-result-")
    assert update.action.value == "SUCCEED" and len(update.payload or "") == 6 * 1024 * 1024 - 18


def test_result_over_6_mib_goes_through_an_execution_update_too() -> None:
    # The SDK does not bound the EXECUTION update; the
    # service does (the engine keeps the whole result, AWS refuses over 6,291,456).
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        return "x" * (7 * 1024 * 1024)

    service = FakeService()
    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": ""}
    update = service.completed
    assert update is not None and update.action.value == "SUCCEED"
    assert len(update.payload or "") == 7 * 1024 * 1024 + 2


def test_non_determinism_fails_the_execution() -> None:
    names = iter(["a", "b"])

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        ctx.step(lambda _: 1, name=next(names))
        ctx.wait(Duration(1))

    service = FakeService()
    output, _ = run_to_end(handler, service)
    assert output["Status"] == "FAILED"
    assert output["Error"]["ErrorType"] == "perdure.sdk.errors.NonDeterministicExecutionError"
    assert "name checkpoint='a' current='b'" in output["Error"]["ErrorMessage"]


def test_revoked_token_returns_pending_even_if_the_handler_finished() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        try:
            ctx.step(lambda _: 1, name="s")
        finally:
            pass
        return 1

    service = FakeService()
    service.revoke_next = True
    assert handler(service.invocation(), None) == {"Status": "PENDING"}


def test_retryable_checkpoint_failure_is_raised() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.step(lambda _: 1, name="s")

    service = FakeService()
    service.fail_next = ServiceError("down")
    with pytest.raises(CheckpointError) as info:
        handler(service.invocation(), None)
    assert info.value.is_retryable()


def test_non_retryable_checkpoint_failure_fails() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.step(lambda _: 1, name="s")

    service = FakeService()
    service.fail_next = InvalidParameterValueError("update s: payload too large")
    output = handler(service.invocation(), None)
    assert output["Status"] == "FAILED"
    assert output["Error"]["ErrorType"] == "perdure.sdk.errors.CheckpointError"
    assert "payload too large" in output["Error"]["ErrorMessage"]


def test_user_code_cannot_swallow_suspension() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        try:
            ctx.wait(Duration(1))
        except Exception:  # pragma: no cover - must not run
            return "swallowed"
        return "after"

    output, invocations = run_to_end(handler, FakeService())
    assert output["Result"] == '"after"' and invocations == 2


def test_invocation_input_with_client_is_frozen() -> None:
    invocation = FakeService().invocation()
    assert isinstance(invocation, InvocationInputWithClient)
    with pytest.raises(AttributeError):
        invocation.client = None  # type: ignore[misc,assignment]


def test_close_hooks_run_before_the_writer_stops() -> None:
    order: list[str] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        def second() -> None:
            order.append("second")
            ctx.state.create_checkpoint(None)

        ctx.state.on_close(lambda: order.append("first"))
        ctx.state.on_close(second)
        return 1

    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "SUCCEEDED"
    assert order == ["second", "first"] and len(service.requests) == 1
