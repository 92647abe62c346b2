"""5-2: a named invoke; the name comes from the input and shows in the history."""

from __future__ import annotations

import os
from typing import Any

from perdure import DurableContext, durable_execution


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> Any:
    return context.invoke(os.environ["TARGET_FUNCTION_NAME"], event["payload"], name=event["name"])
