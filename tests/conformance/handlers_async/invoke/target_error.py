"""Invoke target (5-5, 5-6, 5-10): waits one second, then fails."""

from __future__ import annotations

from typing import Any

from perdure import AsyncDurableContext, Duration, durable_execution


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> Any:
    await context.wait(Duration.from_seconds(1))
    raise RuntimeError("target function error")
