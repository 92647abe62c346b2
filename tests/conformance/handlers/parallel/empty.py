"""8-5: parallel with an empty branches list: parent START + SUCCEED, no branches."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> list[Any]:
    return context.parallel([], name="empty").get_results()
