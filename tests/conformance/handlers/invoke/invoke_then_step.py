"""5-12: an invoke, then a step that uses its result."""

from __future__ import annotations

import os
from typing import Any

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> str:
    result: str = context.invoke(os.environ["TARGET_FUNCTION_NAME"], "echoed")
    return context.step(lambda _: f"processed {result}")
