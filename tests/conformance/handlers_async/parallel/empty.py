"""8-5: parallel with an empty branches list: parent START + SUCCEED, no branches."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[Any]:
    result = await context.parallel([], name="empty")
    return result.get_results()
