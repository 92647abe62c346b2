"""5-13: an invoke inside a child context; its ParentId is the context."""

from __future__ import annotations

import os
from typing import Any

from perdure import AsyncDurableContext, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> Any:
    async def body(child: AsyncDurableContext) -> Any:
        return await child.invoke(os.environ["TARGET_FUNCTION_NAME"], "from child")

    return await context.run_in_child_context(body)
