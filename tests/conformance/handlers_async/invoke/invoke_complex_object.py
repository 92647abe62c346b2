"""5-3: the echo target returns a nested JSON object unchanged."""

from __future__ import annotations

import os
from typing import Any

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: dict[str, Any], context: AsyncDurableContext) -> dict[str, Any]:
    result: dict[str, Any] = await context.invoke(os.environ["TARGET_FUNCTION_NAME"], event)
    assert result == event, f"the echo changed the object: {result!r}"
    return result
