"""Shared by the parallel completion handlers (imported as a sibling module, like plugin/confplugin.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from perdure import BatchResult, DurableContext


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


def branch(index: int, fails: bool) -> Callable[[DurableContext], str]:
    """A branch returning "ok", or raising ValueError("branch <index> failed")."""

    def run(ctx: DurableContext) -> str:
        if fails:
            raise ValueError(f"branch {index} failed")
        return "ok"

    return run
