"""Testing durable functions: `DurableTestRunner` and the conformance runner.

`DurableTestRunner.start_time_skipping()` runs handlers on an in-memory engine whose
clock skips waits and retry delays; with pytest, the `perdure_runner` fixture (from
`perdure.testing.pytest_plugin`, loaded automatically) gives each test one.
`perdure.testing.conformance` runs the AWS conformance requirements against perdure.
This package also re-exports what tests of durable functions compare and catch.
"""

from __future__ import annotations

from perdure.engine import EngineStalledError
from perdure.wire.types import ErrorObject, Event, EventType, ExecutionStatus

from .runner import (
    DurableTestRunner,
    ExecutionResult,
    OperationSummary,
    UndecoratedHandlerWarning,
    find_callback_id,
)

__all__ = [
    "DurableTestRunner",
    "EngineStalledError",
    "ErrorObject",
    "Event",
    "EventType",
    "ExecutionResult",
    "ExecutionStatus",
    "OperationSummary",
    "UndecoratedHandlerWarning",
    "find_callback_id",
]
