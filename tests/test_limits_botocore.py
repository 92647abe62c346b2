"""Every bound in `perdure.wire.limits` that the botocore Lambda model also states is the
model's (the engine cannot import botocore, so the constants are checked here); the engine's
own limits stay within the model's."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from perdure.wire import limits


def _shape(name: str) -> Any:
    return botocore.session.get_session().get_service_model("lambda").shape_for(name)


# constant -> (botocore shape, "min" or "max")
MODEL_BOUNDS: dict[str, tuple[str, str]] = {
    "MAX_ID_LENGTH": ("OperationId", "max"),
    "MAX_NAME_LENGTH": ("OperationName", "max"),
    "MAX_SUB_TYPE_LENGTH": ("OperationSubType", "max"),
    "MAX_EXECUTION_NAME_LENGTH": ("DurableExecutionName", "max"),
    "MAX_CLIENT_TOKEN_LENGTH": ("ClientToken", "max"),
    "MAX_CHECKPOINT_TOKEN_LENGTH": ("CheckpointToken", "max"),
    "MAX_CALLBACK_ID_LENGTH": ("CallbackId", "max"),
    "MAX_FUNCTION_NAME_LENGTH": ("NamespacedFunctionName", "max"),
    "MAX_TENANT_ID_LENGTH": ("TenantId", "max"),
    "MAX_WIRE_PAYLOAD_BYTES": ("OperationPayload", "max"),
    "MAX_CALLBACK_RESULT_WIRE_BYTES": ("BinaryOperationPayload", "max"),
    "MIN_DELAY_SECONDS": ("WaitOptionsWaitSecondsInteger", "min"),
    "MAX_DELAY_SECONDS": ("WaitOptionsWaitSecondsInteger", "max"),
    "MAX_EXECUTION_TIMEOUT_SECONDS": ("ExecutionTimeout", "max"),
    "MAX_STATE_PAGE": ("ItemCount", "max"),
}


@pytest.mark.parametrize(("constant", "bound"), MODEL_BOUNDS.items(), ids=MODEL_BOUNDS)
def test_each_limit_is_the_models_bound(constant: str, bound: tuple[str, str]) -> None:
    shape, side = bound
    assert getattr(limits, constant) == _shape(shape).metadata[side], f"{constant} != {shape}.{side}"


def test_the_retry_delay_has_the_wait_bounds() -> None:
    retry = _shape("StepOptionsNextAttemptDelaySecondsInteger").metadata
    assert (retry["min"], retry["max"]) == (limits.MIN_DELAY_SECONDS, limits.MAX_DELAY_SECONDS)


def test_the_engines_own_limits_stay_within_the_model() -> None:
    assert _shape("OperationPayload").metadata["max"] >= limits.MAX_OPERATION_PAYLOAD_BYTES
    assert limits.MAX_OPERATION_PAYLOAD_BYTES <= limits.MAX_CALLBACK_RESULT_WIRE_BYTES
    assert limits.MAX_RESPONSE_BYTES == limits.MAX_WIRE_PAYLOAD_BYTES


def test_the_model_bounds_no_error_member_so_the_engine_bounds_the_whole_error() -> None:
    """If AWS ever bounds ErrorObject's members, this fails: then take their bounds."""
    error = _shape("ErrorObject")
    for name, member in error.members.items():
        target = member.member if member.type_name == "list" else member
        assert "max" not in target.metadata, name
    assert limits.MAX_ERROR_BYTES == limits.MAX_OPERATION_PAYLOAD_BYTES
