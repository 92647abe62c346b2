"""perdure.sdk.operations.callback through a handler and a fake service that issues callback ids."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

import pytest

from perdure.sdk.aio import AsyncDurableContext
from perdure.sdk.config import CallbackConfig, Duration
from perdure.sdk.context import DurableContext
from perdure.sdk.errors import (
    CallbackError,
    CallbackExternalError,
    CallbackTimeoutError,
    NonDeterministicExecutionError,
    ValidationError,
)
from perdure.sdk.execution import durable_execution
from perdure.sdk.serdes import JsonSerDes, SerDes, SerDesContext
from perdure.wire.types import (
    CallbackDetails,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
)

from .fakes import FakeService, run_to_end


class CallbackService(FakeService):
    """`FakeService` plus CALLBACK: START -> STARTED with an id (`cb-<operation id>`);
    `complete` is the external system (or a timer) finishing it. With `answer_at_once`
    the START response is already SUCCEEDED (the SDK must not suspend)."""

    answer_at_once: str | None = None

    def _apply(self, update: OperationUpdate) -> Operation:
        if update.type is not OperationType.CALLBACK:
            return super()._apply(update)
        assert update.action is OperationAction.START and update.callback_options is not None
        op = Operation(
            id=update.id,
            type=update.type,
            status=OperationStatus.STARTED,
            start_timestamp=self.now,
            parent_id=update.parent_id,
            name=update.name,
            sub_type=update.sub_type,
            callback_details=CallbackDetails(callback_id=f"cb-{update.id}"),
        )
        if self.answer_at_once is not None:
            op = replace(
                op,
                status=OperationStatus.SUCCEEDED,
                callback_details=CallbackDetails(callback_id=f"cb-{update.id}", result=self.answer_at_once),
            )
        return self._put(op)

    def callback(self, index: int = 0) -> Operation:
        return [op for op in self.operations() if op.type is OperationType.CALLBACK][index]

    def complete(
        self,
        status: OperationStatus,
        result: str | None = None,
        error: ErrorObject | None = None,
        index: int = 0,
    ) -> None:
        op = self.callback(index)
        details = CallbackDetails(callback_id=op.callback_details.callback_id, result=result, error=error)  # type: ignore[union-attr]
        self._put(replace(op, status=status, end_timestamp=self.now, callback_details=details))


def _error(output: dict[str, Any]) -> dict[str, Any]:
    assert output["Status"] == "FAILED", output
    error: dict[str, Any] = output["Error"]
    return error


# ---------------------------------------------------------------------- creating


def test_create_callback_starts_synchronously_and_returns_the_id() -> None:
    ids: list[str] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        config = CallbackConfig(timeout=Duration.from_minutes(1), heartbeat_timeout=Duration(10))
        callback = ctx.create_callback(name="approval", config=config)
        ids.append(callback.callback_id)
        return callback.result()

    service = CallbackService()
    assert handler(service.invocation(), None) == {"Status": "PENDING"}
    (request,) = service.requests  # one sync request: the START, nothing else
    (start,) = request.updates
    assert (start.type, start.action, start.sub_type, start.name) == (
        OperationType.CALLBACK,
        OperationAction.START,
        "Callback",
        "approval",
    )
    assert start.callback_options is not None
    assert (start.callback_options.timeout_seconds, start.callback_options.heartbeat_timeout_seconds) == (
        60,
        10,
    )
    assert ids == [f"cb-{start.id}"]


def test_default_options_are_zero_and_a_custom_sub_type_is_sent() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.create_callback(config=CallbackConfig(sub_type="Approval")).result()

    service = CallbackService()
    handler(service.invocation(), None)
    start = service.updates()[0]
    assert start.sub_type == "Approval" and start.name is None
    assert start.callback_options is not None
    assert (start.callback_options.timeout_seconds, start.callback_options.heartbeat_timeout_seconds) == (
        0,
        0,
    )


def test_a_replayed_callback_is_not_started_again_and_keeps_its_id() -> None:
    ids: list[str] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        callback = ctx.create_callback()
        ids.append(callback.callback_id)
        return callback.result()

    service = CallbackService()
    handler(service.invocation(), None)
    assert handler(service.invocation(), None) == {"Status": "PENDING"}
    assert len(service.requests) == 1 and ids[0] == ids[1]


def test_a_name_over_256_characters_is_refused() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.create_callback(name="n" * 257)

    output = handler(CallbackService().invocation(), None)
    assert "at most 256 characters" in _error(output)["ErrorMessage"]
    assert ValidationError.__name__ in _error(output)["ErrorType"]


def test_a_different_operation_at_the_callback_id_is_non_deterministic() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.create_callback().result()

    service = CallbackService()
    handler(service.invocation(), None)
    op = service.callback()
    service._put(
        Operation(
            id=op.id,
            type=OperationType.STEP,
            status=OperationStatus.SUCCEEDED,
            start_timestamp=op.start_timestamp,
            sub_type="Step",
            step_details=StepDetails(attempt=0),
        )
    )
    error = _error(handler(service.invocation(), None))
    assert NonDeterministicExecutionError.__name__ in error["ErrorType"]


# ----------------------------------------------------------------------- results


def test_success_returns_the_raw_string_by_default() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        result = ctx.create_callback().result()
        return {"type": type(result).__name__, "value": result}

    service = CallbackService()
    handler(service.invocation(), None)
    service.complete(OperationStatus.SUCCEEDED, '{"approved": true}')
    output = handler(service.invocation(), None)
    assert json.loads(output["Result"]) == {"type": "str", "value": '{"approved": true}'}


def test_success_is_deserialized_with_the_configured_serdes() -> None:
    class Doubling(SerDes[int]):
        def serialize(self, value: int, serdes_context: SerDesContext) -> str:
            return str(value)

        def deserialize(self, data: str, serdes_context: SerDesContext) -> int:
            assert serdes_context.operation_id and serdes_context.durable_execution_arn
            return int(data) * 2

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        a = ctx.create_callback(config=CallbackConfig(serdes=Doubling())).result()
        b = ctx.create_callback(config=CallbackConfig(serdes=JsonSerDes[Any]())).result()
        return [a, b]

    service = CallbackService()
    handler(service.invocation(), None)
    service.complete(OperationStatus.SUCCEEDED, "21")
    handler(service.invocation(), None)
    service.complete(OperationStatus.SUCCEEDED, '{"k": [1]}', index=1)
    assert json.loads(handler(service.invocation(), None)["Result"]) == [42, {"k": [1]}]


def test_success_without_a_result_returns_none() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return {"result": ctx.create_callback(config=CallbackConfig(serdes=JsonSerDes[Any]())).result()}

    service = CallbackService()
    handler(service.invocation(), None)
    service.complete(OperationStatus.SUCCEEDED, None)
    assert json.loads(handler(service.invocation(), None)["Result"]) == {"result": None}


def test_an_answer_in_the_start_response_does_not_suspend() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.create_callback().result()

    service = CallbackService()
    service.answer_at_once = '"fast"'
    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": '"\\"fast\\""'}


@pytest.mark.parametrize(
    "status", [OperationStatus.FAILED, OperationStatus.CANCELLED, OperationStatus.STOPPED]
)
def test_an_external_failure_raises_callback_external_error(status: OperationStatus) -> None:
    caught: list[CallbackError] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        callback = ctx.create_callback()  # never raises for the outcome
        try:
            return callback.result()
        except CallbackError as exc:
            caught.append(exc)
            raise

    service = CallbackService()
    handler(service.invocation(), None)
    service.complete(status, error=ErrorObject("not approved", "RejectedError", '{"by": "ann"}', ("at x",)))
    error = _error(handler(service.invocation(), None))
    assert error["ErrorMessage"] == "not approved"
    (exc,) = caught
    assert type(exc) is CallbackExternalError
    assert (exc.message, exc.data, exc.stack_trace) == ("not approved", '{"by": "ann"}', ["at x"])


def test_a_failure_without_an_error_object_gets_a_default_message() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.create_callback().result()

    service = CallbackService()
    handler(service.invocation(), None)
    service.complete(OperationStatus.FAILED)
    assert _error(handler(service.invocation(), None))["ErrorMessage"] == "Callback failed"


def test_a_timeout_raises_callback_timeout_error_that_can_be_caught() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        callback = ctx.create_callback(config=CallbackConfig(timeout=Duration(3)))
        try:
            callback.result()
        except CallbackTimeoutError as exc:
            return f"{type(exc).__name__}: {exc.message}"
        return "answered"

    service = CallbackService()
    handler(service.invocation(), None)
    service.complete(OperationStatus.TIMED_OUT, error=ErrorObject("Callback timed out", "Callback.Timeout"))
    output = handler(service.invocation(), None)
    assert json.loads(output["Result"]) == "CallbackTimeoutError: Callback timed out"


def test_plugins_see_the_callback_start_and_its_end() -> None:
    from .test_plugin import Factory, updated

    factory = Factory()

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.create_callback(name="approval").result()

    service = CallbackService()
    handler(service.invocation(), None)
    (start,) = factory.of("operation_start")
    assert (start.operation_type, start.name, start.is_replayed) == (
        OperationType.CALLBACK,
        "approval",
        False,
    )
    assert factory.of("operation_end") == []
    service.complete(OperationStatus.SUCCEEDED, '"yes"')
    handler(updated(service, service.callback().id), None)  # the service names what it changed
    (end,) = factory.of("operation_end")
    assert (end.operation_type, end.status) == (OperationType.CALLBACK, OperationStatus.SUCCEEDED)


def test_a_pending_callback_does_not_end_replay(caplog: pytest.LogCaptureFixture) -> None:
    """create_callback returns at once, so the lines after a still-pending callback replay silently."""

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        ctx.step(lambda _: 1, name="one")
        ctx.create_callback(name="cb")
        ctx.logger.info("after create_callback")
        ctx.wait(Duration(1), name="w")
        ctx.logger.info("after wait")

    @durable_execution
    async def async_handler(event: Any, ctx: AsyncDurableContext) -> None:
        await ctx.step(lambda _: 1, name="one")
        await ctx.create_callback(name="cb")
        ctx.logger.info("after create_callback")
        await ctx.wait(Duration(1), name="w")
        ctx.logger.info("after wait")

    for face in (handler, async_handler):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            _, invocations = run_to_end(face, CallbackService())
        assert invocations == 2
        assert [r.getMessage() for r in caplog.records] == ["after create_callback", "after wait"]
