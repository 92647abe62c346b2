"""5-9: invoke, then wait; the replay after the wait takes the invoke's result from the record."""

from __future__ import annotations

import os
from typing import Any

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> Any:
    result: str = await context.invoke(os.environ["TARGET_FUNCTION_NAME"], "cached")
    await context.wait(Duration.from_seconds(1))
    return result
