"""5-12: an invoke, then a step that uses its result."""

from __future__ import annotations

import os
from typing import Any

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> str:
    result: str = await context.invoke(os.environ["TARGET_FUNCTION_NAME"], "echoed")
    return await context.step(lambda _: f"processed {result}")
