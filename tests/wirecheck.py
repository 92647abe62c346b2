"""Check wire JSON against the botocore Lambda service model (the AWS contract).

    from tests.wirecheck import assert_valid_checkpoint_request
    assert_valid_checkpoint_request(request)   # a CheckpointDurableExecutionRequest or its dict

Two layers, because botocore's client-side `ParamValidator` checks types, required
members and minimums but not maximum lengths, patterns or enums (the service checks
those): first `ParamValidator`, then a walk of the shape that enforces `max`, `pattern`
and `enum` from the model's metadata. Timestamps are `datetime`s, as boto3 passes them.

Use it on every request the SDK produces (a recording fake service makes that cheap).
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, OperationModel, Shape, StructureShape
from botocore.validate import ParamValidator

from perdure.wire.codec import to_wire


@cache
def operation_model(name: str) -> OperationModel:
    """The botocore Lambda model of an API operation (`CheckpointDurableExecution`, ...)."""
    return botocore.session.get_session().get_service_model("lambda").operation_model(name)


def wire_errors(operation: str, params: Any, *, output: bool = False) -> list[str]:
    """Every way `params` breaks the input (or output) shape of `operation` (empty when valid).

    Args:
        operation: botocore operation name, e.g. `CheckpointDurableExecution`.
        params: the request dict (boto3 form: timestamps as datetime) or a wire dataclass.
        output: check against the operation's response shape instead (engine responses).
    """
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        params = to_wire(params, timestamps="datetime")
    model = operation_model(operation)
    shape = model.output_shape if output else model.input_shape
    report = ParamValidator().validate(params, shape)
    errors = [report.generate_report()] if report.has_errors() else []
    _walk(params, shape, "", errors)
    return errors


def assert_valid_input(operation: str, params: Any) -> None:
    """Fail with every violation listed when `params` is not a valid `operation` request."""
    errors = wire_errors(operation, params)
    assert not errors, f"{operation} request breaks the botocore model:\n" + "\n".join(errors)


def assert_valid_output(operation: str, params: Any) -> None:
    """Fail when `params` is not a valid `operation` response (what the engine returns)."""
    errors = wire_errors(operation, params, output=True)
    assert not errors, f"{operation} response breaks the botocore model:\n" + "\n".join(errors)


def assert_valid_checkpoint_request(params: Any) -> None:
    """`assert_valid_input("CheckpointDurableExecution", params)`."""
    assert_valid_input("CheckpointDurableExecution", params)


def _walk(value: Any, shape: Shape, path: str, errors: list[str]) -> None:
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, member in value.items():
            if key in shape.members:
                _walk(member, shape.members[key], f"{path}.{key}" if path else key, errors)
        return
    if isinstance(shape, ListShape) and isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, shape.member, f"{path}[{i}]", errors)
        return
    meta = shape.metadata
    if shape.type_name == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: length {len(value)} > max {meta['max']}")
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
            errors.append(f"{path}: {value[:80]!r} does not match {meta['pattern']}")
        enum = getattr(shape, "enum", None) or []
        if enum and value not in enum:
            errors.append(f"{path}: {value!r} is not one of {', '.join(enum)}")
    if (
        shape.type_name in ("integer", "long")
        and isinstance(value, int)
        and "max" in meta
        and value > meta["max"]
    ):
        errors.append(f"{path}: {value} > max {meta['max']}")


@cache
def _pattern(text: str) -> re.Pattern[str]:
    # The model's patterns are Java regexes; the ones Lambda uses are valid Python too.
    return re.compile(text, re.DOTALL)
