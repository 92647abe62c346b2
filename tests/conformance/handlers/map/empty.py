"""9-4: map over an empty list: parent START + SUCCEED, no iterations."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: list[Any], context: DurableContext) -> list[Any]:
    return context.map(event or [], lambda ctx, item, index, items: item, name="empty").get_results()
