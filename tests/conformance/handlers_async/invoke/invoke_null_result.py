"""5-4: invoke with a null payload; the echo target returns null."""

from __future__ import annotations

import os
from typing import Any

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> Any:
    result: Any = await context.invoke(os.environ["TARGET_FUNCTION_NAME"], None)
    assert result is None, f"expected None, got {result!r}"
    return result
