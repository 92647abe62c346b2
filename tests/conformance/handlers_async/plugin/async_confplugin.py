"""Shared by the async plugin handlers (10-x): a plugin that prints JSON records to stdout.

Every record carries `plugin` and the `durableExecutionArn` the invocation-start hook
received, which is how the runner attributes a printed line to its execution.
"""

from __future__ import annotations

import json
from typing import Any

from perdure import DurableInstrumentationPlugin, InvocationStartInfo, OperationInfo
from perdure.sdk.plugin import OperationType


class PrintingPlugin(DurableInstrumentationPlugin):
    """Base of the conformance plugins: `emit` prints one JSON record."""

    def __init__(self, name: str, arn: str | None) -> None:
        self.name = name
        self.arn = arn

    def emit(self, hook: str, **fields: Any) -> None:
        record = {"durableExecutionArn": self.arn, "plugin": self.name, "hook": hook, **fields}
        print(json.dumps(record), flush=True)


def is_step(info: OperationInfo) -> bool:
    return info.operation_type is OperationType.STEP


class Factory:
    """Builds one `plugin_class(name, arn)` per invocation."""

    def __init__(self, plugin_class: type[PrintingPlugin], name: str = "CONFPLUGIN") -> None:
        self.plugin_class = plugin_class
        self.name = name

    def create_plugin(self, info: InvocationStartInfo, /) -> PrintingPlugin:
        return self.plugin_class(self.name, info.execution_arn)
