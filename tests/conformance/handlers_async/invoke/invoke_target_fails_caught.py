"""5-6: the target fails; the handler catches the InvokeError and returns a fallback."""

from __future__ import annotations

import os
from typing import Any

from perdure import AsyncDurableContext, InvokeError, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> dict[str, str]:
    try:
        await context.invoke(os.environ["TARGET_FUNCTION_NAME"], event)
    except InvokeError as error:
        return {"fallback": "used", "error": str(error)}
    raise AssertionError("the target was expected to fail")
