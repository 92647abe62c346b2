"""5-13: an invoke inside a child context; its ParentId is the context."""

from __future__ import annotations

import os
from typing import Any

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> Any:
    return context.run_in_child_context(
        lambda child: child.invoke(os.environ["TARGET_FUNCTION_NAME"], "from child")
    )
