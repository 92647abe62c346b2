"""Context values handed to user functions, and the Lambda context shape.

Owns `OperationContext`, `StepContext`, `WaitForCallbackContext`,
`WaitForConditionCheckContext`, `ExecutionContext` and the `LambdaContext` Protocol.
Imports only `perdure.sdk.logger` and the standard library.
"""

from __future__ import annotations

from typing import Protocol

from perdure.wire.fast_init import value_type

from .logger import Logger, LoggerInterface

__all__ = [
    "ExecutionContext",
    "LambdaContext",
    "Logger",
    "LoggerInterface",
    "OperationContext",
    "StepContext",
    "WaitForCallbackContext",
    "WaitForConditionCheckContext",
]


@value_type(slots=False)
class ExecutionContext:
    """Facts about the running execution."""

    durable_execution_arn: str


@value_type(slots=False)
class OperationContext:
    """What a user function running inside an operation receives."""

    logger: LoggerInterface | Logger


@value_type(slots=False)
class StepContext(OperationContext):
    """Passed to a step body.

    Attributes:
        logger: logs with the step's id, name and attempt attached.
        attempt: the current attempt, 1 for the first.
    """

    attempt: int


@value_type(slots=False)
class WaitForCallbackContext(OperationContext):
    """Passed to a wait_for_callback submitter."""


@value_type(slots=False)
class WaitForConditionCheckContext(OperationContext):
    """Passed to a wait_for_condition check.

    Attributes:
        attempt: the current check, 1 for the first.
    """

    attempt: int


class LambdaContext(Protocol):
    """The AWS Lambda context object (any object of this shape)."""

    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int: ...
