"""5-14: two invokes in sequence; each one suspends the caller until it ends."""

from __future__ import annotations

import os
from typing import Any

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> list[Any]:
    first: Any = await context.invoke(os.environ["TARGET_FUNCTION_NAME_1"], "first")
    second: Any = await context.invoke(os.environ["TARGET_FUNCTION_NAME_2"], "second")
    return [first, second]
