"""DurableContext.wait_for_callback: its operations, names, parents, results and error translation."""

from __future__ import annotations

import json
from typing import Any

from perdure.sdk.config import Duration, WaitForCallbackConfig
from perdure.sdk.context import DurableContext, durable_wait_for_callback
from perdure.sdk.errors import (
    CallbackError,
    CallbackExternalError,
    CallbackSubmitterError,
    CallbackTimeoutError,
    StepError,
)
from perdure.sdk.execution import durable_execution
from perdure.sdk.retries import RetryPresets
from perdure.sdk.serdes import JsonSerDes
from perdure.sdk.types import WaitForCallbackContext
from perdure.wire.types import ErrorObject, OperationStatus, OperationType

from .test_callback import CallbackService


def _shape(service: CallbackService) -> list[tuple[str, str, str | None, str | None, bool]]:
    """(type, action, sub-type, name, has a parent) of every update, in order."""
    return [
        (u.type.value, u.action.value, u.sub_type, u.name, u.parent_id is not None) for u in service.updates()
    ]


def test_operations_names_and_parents() -> None:
    submitted: list[tuple[str, Any]] = []

    def submit(callback_id: str, context: WaitForCallbackContext) -> None:
        submitted.append((callback_id, context))

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.wait_for_callback(
            submit, name="approve", config=WaitForCallbackConfig(timeout=Duration(30))
        )

    service = CallbackService()
    assert handler(service.invocation(), None) == {"Status": "PENDING"}
    assert _shape(service) == [
        ("CONTEXT", "START", "WaitForCallback", "approve", False),
        ("CALLBACK", "START", "Callback", "approve create callback id", True),
        ("STEP", "START", "Step", "approve submitter", True),
        ("STEP", "SUCCEED", "Step", "approve submitter", True),
    ]
    context_start, callback_start, step_start, _ = service.updates()
    assert callback_start.parent_id == step_start.parent_id == context_start.id
    assert (
        callback_start.callback_options is not None and callback_start.callback_options.timeout_seconds == 30
    )
    ((callback_id, context),) = submitted
    assert callback_id == f"cb-{callback_start.id}" and isinstance(context, WaitForCallbackContext)
    assert context.logger is not None


def test_success_returns_the_raw_result_and_closes_the_context() -> None:
    runs: list[str] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.wait_for_callback(lambda callback_id, _: runs.append(callback_id), name="x")

    service = CallbackService()
    handler(service.invocation(), None)
    service.complete(OperationStatus.SUCCEEDED, '{"ok": 1}')
    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": json.dumps('{"ok": 1}')}
    assert _shape(service)[-1] == ("CONTEXT", "SUCCEED", "WaitForCallback", "x", False)
    # once the context succeeded, replay neither runs the submitter nor checkpoints again
    count = len(service.requests)
    assert handler(service.invocation(), None)["Status"] == "SUCCEEDED"
    assert len(runs) == 1 and len(service.requests) == count


def test_the_config_serdes_deserializes_the_result() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        config = WaitForCallbackConfig(serdes=JsonSerDes[Any]())
        return ctx.wait_for_callback(lambda *_: None, name="x", config=config)["status"]

    service = CallbackService()
    handler(service.invocation(), None)
    service.complete(OperationStatus.SUCCEEDED, '{"status": "approved"}')
    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": '"approved"'}


def test_without_a_name_the_inner_operations_get_plain_names() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.wait_for_callback(lambda *_: None)

    service = CallbackService()
    handler(service.invocation(), None)
    assert [(t, n) for t, a, _, n, _ in _shape(service) if a == "START"] == [
        ("CONTEXT", None),
        ("CALLBACK", "create callback id"),
        ("STEP", "submitter"),
    ]


def test_a_decorated_submitter_names_the_operation() -> None:
    @durable_wait_for_callback
    def notify_reviewer(callback_id: str, context: WaitForCallbackContext, reviewer: str) -> None:
        assert reviewer == "ann"

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.wait_for_callback(notify_reviewer("ann"))

    service = CallbackService()
    handler(service.invocation(), None)
    assert [n for _, a, _, n, _ in _shape(service) if a == "START"] == [
        "notify_reviewer",
        "notify_reviewer create callback id",
        "notify_reviewer submitter",
    ]


def test_an_external_failure_surfaces_as_the_callback_error_on_every_replay() -> None:
    caught: list[BaseException] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        try:
            return ctx.wait_for_callback(lambda *_: None, name="x")
        except CallbackError as exc:
            caught.append(exc)
            return "recovered"

    service = CallbackService()
    handler(service.invocation(), None)
    service.complete(OperationStatus.FAILED, error=ErrorObject("not approved", "RejectedError"))
    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": '"recovered"'}
    fail = service.updates()[-1]
    assert (fail.type, fail.action.value) == (OperationType.CONTEXT, "FAIL")
    assert fail.error is not None and fail.error.error_message == "not approved"
    assert fail.error.error_type is not None and fail.error.error_type.endswith("CallbackExternalError")
    handler(service.invocation(), None)  # replay of the FAILED context
    assert [type(e) for e in caught] == [CallbackExternalError, CallbackExternalError]
    assert all(getattr(e, "message", None) == "not approved" for e in caught)


def test_a_timeout_surfaces_as_callback_timeout_error() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        try:
            return ctx.wait_for_callback(lambda *_: None, config=WaitForCallbackConfig(timeout=Duration(3)))
        except CallbackTimeoutError:
            return "timed-out-handled"

    service = CallbackService()
    handler(service.invocation(), None)
    service.complete(OperationStatus.TIMED_OUT, error=ErrorObject("Callback timed out", "Callback.Timeout"))
    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": '"timed-out-handled"'}


def test_a_failed_submitter_surfaces_as_callback_submitter_error() -> None:
    caught: list[BaseException] = []

    def submit(callback_id: str, context: WaitForCallbackContext) -> None:
        raise ConnectionError("the approval system is down")

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        config = WaitForCallbackConfig(retry_strategy=RetryPresets.none())
        try:
            return ctx.wait_for_callback(submit, name="x", config=config)
        except CallbackSubmitterError as exc:
            caught.append(exc)
            raise

    service = CallbackService()
    output = handler(service.invocation(), None)
    assert output["Status"] == "FAILED" and output["Error"]["ErrorMessage"] == "the approval system is down"
    assert output["Error"]["ErrorType"].endswith("CallbackSubmitterError")
    (exc,) = caught
    assert isinstance(exc.__cause__, StepError)
    assert [(t, a) for t, a, *_ in _shape(service)][-2:] == [("STEP", "FAIL"), ("CONTEXT", "FAIL")]


def test_the_submitter_is_retried_by_the_config_strategy() -> None:
    attempts: list[int] = []

    def submit(callback_id: str, context: WaitForCallbackContext) -> None:
        attempts.append(1)
        if len(attempts) < 2:
            raise ConnectionError("try again")

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.wait_for_callback(submit, name="x")  # default retry strategy

    service = CallbackService()
    assert handler(service.invocation(), None) == {"Status": "PENDING"}
    assert ("STEP", "RETRY") in [(t, a) for t, a, *_ in _shape(service)]
    service.advance()
    assert handler(service.invocation(), None) == {"Status": "PENDING"}
    assert len(attempts) == 2 and service.callback().status is OperationStatus.STARTED
