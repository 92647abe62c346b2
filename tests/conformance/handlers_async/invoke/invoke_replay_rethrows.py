"""5-10: a failed invoke is caught, then a wait; the replay raises the recorded error again."""

from __future__ import annotations

import os
from typing import Any

from perdure import AsyncDurableContext, Duration, InvokeError, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> str:
    try:
        await context.invoke(os.environ["TARGET_FUNCTION_NAME"], event)
    except InvokeError as error:
        caught = error.error_type
    else:
        raise AssertionError("the target was expected to fail")
    await context.wait(Duration.from_seconds(1))
    return f"caught {caught}"
