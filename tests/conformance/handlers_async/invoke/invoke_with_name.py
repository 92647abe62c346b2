"""5-2: a named invoke; the name comes from the input and shows in the history."""

from __future__ import annotations

import os
from typing import Any

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: dict[str, Any], context: AsyncDurableContext) -> Any:
    return await context.invoke(os.environ["TARGET_FUNCTION_NAME"], event["payload"], name=event["name"])
