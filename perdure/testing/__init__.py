"""Testing durable functions: `DurableTestRunner` and the conformance runner.

`DurableTestRunner.start_time_skipping()` runs handlers on an in-memory engine whose
clock skips waits and retry delays; `perdure.testing.conformance` runs the AWS
conformance requirements against perdure.
"""

from __future__ import annotations

from .runner import DurableTestRunner, ExecutionResult, OperationSummary

__all__ = ["DurableTestRunner", "ExecutionResult", "OperationSummary"]
