"""Context values handed to user functions, and the Lambda context shape.

Owns `OperationContext`, `StepContext`, `WaitForCallbackContext`,
`WaitForConditionCheckContext`, `ExecutionContext` and the `LambdaContext` Protocol.
Imports only `perdure.sdk.logger` and the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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


@dataclass(frozen=True)
class ExecutionContext:
    """Facts about the running execution."""

    durable_execution_arn: str


@dataclass(frozen=True)
class OperationContext:
    """What a user function running inside an operation receives."""

    logger: LoggerInterface | Logger


@dataclass(frozen=True)
class StepContext(OperationContext):
    """Passed to a step body.

    Attributes:
        logger: logs with the step's id, name and attempt attached.
        attempt: the current attempt, 1 for the first.
    """

    attempt: int


@dataclass(frozen=True)
class WaitForCallbackContext(OperationContext):
    """Passed to a wait_for_callback submitter."""


@dataclass(frozen=True)
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
