"""5-11: a step, then an invoke of the step's result."""

from __future__ import annotations

import os
from typing import Any

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> Any:
    value = await context.step(lambda _: {"from": "step"})
    return await context.invoke(os.environ["TARGET_FUNCTION_NAME"], value)
