"""Shared by the async parallel completion handlers (a sibling module, named apart from the sync one)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from perdure import AsyncDurableContext, BatchResult


def summary(result: BatchResult[Any], *fields: str) -> dict[str, Any]:
    """The batch result's fields the requirement's ExpectedResult compares (wire names)."""
    values = {
        "completionReason": lambda: result.completion_reason.value,
        "status": lambda: result.status.value,
        "successCount": lambda: result.success_count,
        "failureCount": lambda: result.failure_count,
        "totalCount": lambda: result.total_count,
    }
    return {field: values[field]() for field in fields}


def branch(index: int, fails: bool) -> Callable[[AsyncDurableContext], Awaitable[str]]:
    """A branch returning "ok", or raising ValueError("branch <index> failed")."""

    async def run(ctx: AsyncDurableContext) -> str:
        if fails:
            raise ValueError(f"branch {index} failed")
        return "ok"

    return run
