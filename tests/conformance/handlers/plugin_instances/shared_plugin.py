"""Shared by the pre-3.0 plugin handlers (10-x): one plugin instance that prints JSON records.

The shape the official SDK took before 3.0: ``durable_execution(plugins=[MyPlugin()])``, a
plugin instance every invocation shares. The instance keeps the ARN its
invocation-start hook received on ``self`` and stamps every record with it, which is
right only if it sees one invocation at a time.
"""

from __future__ import annotations

import json
from typing import Any

from perdure import DurableInstrumentationPlugin, InvocationStartInfo, OperationInfo
from perdure.sdk.plugin import OperationType


class SharedPrintingPlugin(DurableInstrumentationPlugin):
    """Base of the pre-3.0 conformance plugins: `emit` prints one JSON record."""

    def __init__(self, name: str = "CONFPLUGIN") -> None:
        self.name = name
        self.arn: str | None = None

    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        self.arn = info.execution_arn

    def emit(self, hook: str, **fields: Any) -> None:
        record = {"durableExecutionArn": self.arn, "plugin": self.name, "hook": hook, **fields}
        print(json.dumps(record), flush=True)


def is_step(info: OperationInfo) -> bool:
    return info.operation_type is OperationType.STEP
