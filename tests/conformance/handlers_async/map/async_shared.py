"""Shared by the async map handlers (imported as a sibling module, as plugin/async_confplugin.py).

Named apart from the sync handlers' sibling modules: both folders go on `sys.path` in one
process, and a shared module name would load whichever folder came first.
"""

from __future__ import annotations

from typing import Any

from perdure import BatchItem, BatchItemStatus, BatchResult, CompletionReason, SerDes, SerDesContext


def summary(result: BatchResult[Any], *fields: str) -> dict[str, Any]:
    """The batch result's fields the requirement's ExpectedResult compares (wire names)."""
    values = {
        "completionReason": lambda: result.completion_reason.value,
        "status": lambda: result.status.value,
        "successCount": lambda: result.success_count,
        "failureCount": lambda: result.failure_count,
        "totalCount": lambda: result.total_count,
    }
    return {field: values[field]() for field in fields}


class WholeResultSerDes(SerDes[BatchResult[str]]):
    """Serializes the whole map result as "OPSERDE:" + the comma-joined results (9-19, 9-20)."""

    def serialize(self, value: BatchResult[str], serdes_context: SerDesContext) -> str:
        return "OPSERDE:" + ",".join(value.get_results())

    def deserialize(self, data: str, serdes_context: SerDesContext) -> BatchResult[str]:
        values = data.removeprefix("OPSERDE:").split(",")
        items = [BatchItem(index, BatchItemStatus.SUCCEEDED, value) for index, value in enumerate(values)]
        return BatchResult(items, CompletionReason.ALL_COMPLETED)
