"""5-11: a step, then an invoke of the step's result."""

from __future__ import annotations

import os
from typing import Any

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: Any, context: DurableContext) -> Any:
    value = context.step(lambda _: {"from": "step"})
    return context.invoke(os.environ["TARGET_FUNCTION_NAME"], value)
