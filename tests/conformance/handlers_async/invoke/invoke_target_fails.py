"""5-5: the target fails; the InvokeError escapes and the execution fails."""

from __future__ import annotations

import os
from typing import Any

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> Any:
    return await context.invoke(os.environ["TARGET_FUNCTION_NAME"], event)
