"""5-14: two invokes in sequence; each one suspends the caller until it ends."""

from __future__ import annotations

import os
from typing import Any

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> list[Any]:
    first: Any = context.invoke(os.environ["TARGET_FUNCTION_NAME_1"], "first")
    second: Any = context.invoke(os.environ["TARGET_FUNCTION_NAME_2"], "second")
    return [first, second]
