"""9-20: an operation-level serdes; a wait after the map makes replay deserialize its payload."""

from __future__ import annotations

from typing import Any

from perdure import (
    BatchItem,
    BatchItemStatus,
    BatchResult,
    CompletionReason,
    DurableContext,
    Duration,
    MapConfig,
    SerDes,
    SerDesContext,
    durable_execution,
)


class WholeResultSerDes(SerDes[BatchResult[str]]):
    """Serializes the whole map result as "OPSERDE:" + the comma-joined results."""

    def serialize(self, value: BatchResult[str], serdes_context: SerDesContext) -> str:
        return "OPSERDE:" + ",".join(value.get_results())

    def deserialize(self, data: str, serdes_context: SerDesContext) -> BatchResult[str]:
        values = data.removeprefix("OPSERDE:").split(",")
        items = [BatchItem(index, BatchItemStatus.SUCCEEDED, value) for index, value in enumerate(values)]
        return BatchResult(items, CompletionReason.ALL_COMPLETED)


@durable_execution
def handler(event: Any, context: DurableContext) -> list[str]:
    result = context.map(
        ["x", "y"],
        lambda ctx, item, index, items: item.upper(),
        name="op-serde-replay",
        config=MapConfig(max_concurrency=1, serdes=WholeResultSerDes()),
    )
    context.wait(Duration.from_seconds(1))
    return result.get_results()
