"""perdure.sdk.operations.invoke through a handler and a fake service that runs chained invokes."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from perdure.sdk.config import Duration, InvokeConfig
from perdure.sdk.context import DurableContext
from perdure.sdk.errors import InvokeError, NonDeterministicExecutionError, SerDesError
from perdure.sdk.execution import durable_execution
from perdure.sdk.plugin import (
    DurableInstrumentationPlugin,
    InvocationStartInfo,
    PropagationInput,
    PropagationMetadata,
)
from perdure.sdk.serdes import SerDes, SerDesContext
from perdure.wire.limits import MAX_CHAINED_INVOKE_PAYLOAD_BYTES
from perdure.wire.types import (
    ChainedInvokeDetails,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

from .fakes import FakeService


class InvokeService(FakeService):
    """`FakeService` plus CHAINED_INVOKE: START -> STARTED (or FAILED for `missing`);
    `finish` ends the invoked function as the service would."""

    def _apply(self, update: OperationUpdate) -> Operation:
        if update.type is not OperationType.CHAINED_INVOKE:
            return super()._apply(update)
        assert update.action is OperationAction.START
        assert update.chained_invoke_options is not None
        status, details = OperationStatus.STARTED, ChainedInvokeDetails()
        if update.chained_invoke_options.function_name == "missing":
            status = OperationStatus.FAILED
            details = ChainedInvokeDetails(
                error=ErrorObject("Function not found: missing", "ResourceNotFoundException")
            )
        return self._put(
            Operation(
                id=update.id,
                type=update.type,
                status=status,
                start_timestamp=self.now,
                parent_id=update.parent_id,
                name=update.name,
                sub_type=update.sub_type,
                chained_invoke_details=details,
            )
        )

    def invoke_ops(self) -> list[Operation]:
        return [op for op in self.operations() if op.type is OperationType.CHAINED_INVOKE]

    def finish(
        self, status: OperationStatus, result: str | None = None, error: ErrorObject | None = None
    ) -> None:
        for op in self.invoke_ops():
            if op.status is OperationStatus.STARTED:
                self._put(
                    replace(op, status=status, chained_invoke_details=ChainedInvokeDetails(result, error))
                )

    def starts(self) -> list[OperationUpdate]:
        return [u for u in self.updates() if u.type is OperationType.CHAINED_INVOKE]


def test_invoke_starts_suspends_then_returns_the_result() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.invoke("target", {"order": 7}, name="charge")

    service = InvokeService()
    assert handler(service.invocation(), None) == {"Status": "PENDING"}
    (start,) = service.starts()
    assert (start.action, start.sub_type, start.name, start.payload) == (
        OperationAction.START,
        "ChainedInvoke",
        "charge",
        '{"order": 7}',
    )
    assert start.chained_invoke_options is not None
    assert start.chained_invoke_options.function_name == "target"
    assert start.chained_invoke_options.tenant_id is None
    assert start.chained_invoke_options.x_amzn_trace_id is None
    assert len(service.requests) == 1  # the START is sync: acknowledged before suspending

    assert handler(service.invocation(), None) == {"Status": "PENDING"}  # still running
    assert len(service.starts()) == 1

    service.finish(OperationStatus.SUCCEEDED, '{"charged": true}')
    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": '{"charged": true}'}
    assert len(service.starts()) == 1


def test_a_missing_result_is_none() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return {"got": ctx.invoke("target", None)}

    service = InvokeService()
    handler(service.invocation(), None)
    assert service.starts()[0].payload == "null"
    service.finish(OperationStatus.SUCCEEDED, None)
    assert handler(service.invocation(), None)["Result"] == '{"got": null}'


@pytest.mark.parametrize(
    "status", [OperationStatus.FAILED, OperationStatus.TIMED_OUT, OperationStatus.STOPPED]
)
def test_a_failed_invoke_raises_invoke_error_with_the_target_error(status: OperationStatus) -> None:
    caught: list[InvokeError] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        try:
            ctx.invoke("target", "x")
        except InvokeError as error:
            caught.append(error)
            raise
        return "unreachable"

    service = InvokeService()
    handler(service.invocation(), None)
    service.finish(status, error=ErrorObject("target function error", "RuntimeError"))
    output = handler(service.invocation(), None)
    assert output["Status"] == "FAILED"
    assert output["Error"]["ErrorMessage"] == "target function error"
    (error,) = caught
    assert (error.error_type, error.message) == ("RuntimeError", "target function error")
    # Replay raises the same error again, without a new START.
    assert handler(service.invocation(), None)["Error"] == output["Error"]
    assert len(caught) == 2 and caught[1].error_type == "RuntimeError"
    assert len(service.starts()) == 1


def test_an_unknown_function_fails_at_once_without_suspending() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        try:
            ctx.invoke("missing", 1)
        except InvokeError as error:
            return f"{error.error_type}: {error.message}"
        return "unreachable"

    service = InvokeService()
    output = handler(service.invocation(), None)
    assert output == {
        "Status": "SUCCEEDED",
        "Result": json.dumps("ResourceNotFoundException: Function not found: missing"),
    }


def test_tenant_and_custom_serdes() -> None:
    class Upper(SerDes[str]):
        def serialize(self, value: str, serdes_context: SerDesContext) -> str:
            assert serdes_context.operation_id and serdes_context.durable_execution_arn
            return json.dumps(value.upper())

        def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
            return f"<{json.loads(data)}>"

    config: InvokeConfig[str, str] = InvokeConfig(
        serdes_payload=Upper(), serdes_result=Upper(), tenant_id="acme"
    )

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        return ctx.invoke("target", "hello", config=config)

    service = InvokeService()
    handler(service.invocation(), None)
    (start,) = service.starts()
    assert start.payload == '"HELLO"'
    assert start.chained_invoke_options is not None and start.chained_invoke_options.tenant_id == "acme"
    service.finish(OperationStatus.SUCCEEDED, '"HELLO"')
    assert handler(service.invocation(), None)["Result"] == '"<HELLO>"'


def test_the_default_result_serdes_is_plain_json() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        result: Any = ctx.invoke("target", None)
        assert result == {"t": "datetime", "v": "x"}  # not decoded as an extended-type envelope
        return result

    service = InvokeService()
    handler(service.invocation(), None)
    service.finish(OperationStatus.SUCCEEDED, '{"t": "datetime", "v": "x"}')
    assert handler(service.invocation(), None)["Status"] == "SUCCEEDED"


def test_a_plugin_trace_id_goes_with_a_new_start_only() -> None:
    asked: list[PropagationInput] = []

    class Tracing(DurableInstrumentationPlugin):
        def provide_propagation_metadata(self, info: PropagationInput) -> PropagationMetadata | None:
            asked.append(info)
            return PropagationMetadata(x_amzn_trace_id="Root=1-abc")

    class Factory:
        def create_plugin(self, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
            return Tracing()

    @durable_execution(plugins=[Factory()])
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.invoke("target", 1)

    service = InvokeService()
    handler(service.invocation(), None)
    (start,) = service.starts()
    assert start.chained_invoke_options is not None
    assert start.chained_invoke_options.x_amzn_trace_id == "Root=1-abc"
    assert [(i.operation_id, i.target_function_name) for i in asked] == [(start.id, "target")]
    handler(service.invocation(), None)  # replayed while running: no new question
    service.finish(OperationStatus.SUCCEEDED, "2")
    assert handler(service.invocation(), None)["Result"] == "2"
    assert len(asked) == 1


def test_invoke_inside_a_child_context_and_after_a_wait_replays() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        first: Any = ctx.run_in_child_context(lambda child: child.invoke("target", "a"), name="group")
        ctx.wait(Duration(1))
        return first

    service = InvokeService()
    handler(service.invocation(), None)
    (start,) = service.starts()
    group = next(op for op in service.operations() if op.type is OperationType.CONTEXT)
    assert start.parent_id == group.id
    service.finish(OperationStatus.SUCCEEDED, '"A"')
    assert handler(service.invocation(), None) == {"Status": "PENDING"}  # the wait
    service.advance()
    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": '"A"'}
    assert len(service.starts()) == 1


def test_a_changed_operation_at_the_invoke_position_is_non_deterministic() -> None:
    @durable_execution
    def first(event: Any, ctx: DurableContext) -> Any:
        return ctx.invoke("target", 1, name="a")

    @durable_execution
    def second(event: Any, ctx: DurableContext) -> Any:
        return ctx.step(lambda _: 1, name="a")

    service = InvokeService()
    first(service.invocation(), None)
    output = second(service.invocation(), None)
    assert output["Status"] == "FAILED"
    assert NonDeterministicExecutionError.__name__ in output["Error"]["ErrorType"]


def test_an_oversize_payload_raises_serdes_error_before_anything_is_sent() -> None:
    messages: list[str] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        try:
            ctx.invoke("target", "x" * MAX_CHAINED_INVOKE_PAYLOAD_BYTES, name="big")
        except SerDesError as error:
            messages.append(str(error))
        return ctx.invoke("target", "x" * (MAX_CHAINED_INVOKE_PAYLOAD_BYTES - 2))  # exactly the limit

    service = InvokeService()
    assert handler(service.invocation(), None) == {"Status": "PENDING"}
    (start,) = service.starts()
    assert len(start.payload or "") == MAX_CHAINED_INVOKE_PAYLOAD_BYTES
    (message,) = messages
    limit = MAX_CHAINED_INVOKE_PAYLOAD_BYTES
    assert (
        "invoke 'big'" in message and f"{limit + 2:,} bytes" in message and f"{limit:,}-byte limit" in message
    )
