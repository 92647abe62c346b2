"""5-7: invoke with a payload near the 256 KiB operation payload limit (250,002 bytes as JSON)."""

from __future__ import annotations

import os
from typing import Any

from perdure import AsyncDurableContext, durable_execution

SIZE = 250_000


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> dict[str, int]:
    result: str = await context.invoke(os.environ["TARGET_FUNCTION_NAME"], "x" * SIZE)
    assert result == "x" * SIZE, "the echo changed the payload"
    return {"length": len(result)}
