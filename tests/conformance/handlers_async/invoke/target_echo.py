"""Invoke target (5-x): waits one second, then returns its input unchanged.

The wait makes the caller suspend before the target ends, as on AWS.
"""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> Any:
    await context.wait(Duration.from_seconds(1))
    return event
