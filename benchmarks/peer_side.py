"""The peer: the official SDK 3.0 on its testing package's in-memory runner (1.4).

Runs only inside `benchmarks/.peer-venv` (the worker imports it there). Same settings as
the baseline: `DurableFunctionTestRunner`, the default
memory store, `skip_time=True`, a long execution timeout.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any

from aws_durable_execution_sdk_python import durable_execution
from aws_durable_execution_sdk_python.config import Duration, MapConfig, ParallelConfig
from aws_durable_execution_sdk_python_testing import DurableFunctionTestRunner

API = SimpleNamespace(
    durable_execution=durable_execution, Duration=Duration, MapConfig=MapConfig, ParallelConfig=ParallelConfig
)


def prepare(handler: Any) -> Any:
    """`handler` (undecorated) decorated, before the harness starts its timer (as on
    perdure's side)."""
    return durable_execution(handler)


def run(prepared: Any, payload: dict[str, Any], db_path: str) -> tuple[str, Any, list[float]]:
    """Run a `prepare`d handler to its end.

    Returns:
        (execution status, decoded result, wall seconds of each invocation).
    """
    del db_path  # the peer's in-memory store is the measured baseline
    inner = prepared
    invocations: list[float] = []

    def lambda_handler(event: Any, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return inner(event, context)
        finally:
            invocations.append(time.perf_counter() - started)

    with DurableFunctionTestRunner(handler=lambda_handler, execution_timeout=3600, skip_time=True) as runner:
        result = runner.run(input=json.dumps(payload), execution_timeout=3600)
    status = str(getattr(result.execution_status, "value", result.execution_status))
    value = json.loads(result.result) if result.result else None
    return status, value, invocations
