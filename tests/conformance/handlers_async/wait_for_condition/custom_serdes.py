"""6-11: the string state goes through a custom serdes; it survives suspension and ends "xx"."""

from __future__ import annotations

import json
from typing import Any

from perdure import (
    AsyncDurableContext,
    Duration,
    SerDes,
    SerDesContext,
    WaitForConditionCheckContext,
    WaitForConditionConfig,
    WaitForConditionDecision,
    durable_execution,
)


class WrappedStringSerDes(SerDes[str]):
    """Stores a string as ``{"wrapped": value}``."""

    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        return json.dumps({"wrapped": value})

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        value: str = json.loads(data)["wrapped"]
        return value


async def append_x(state: str, check_context: WaitForConditionCheckContext) -> str:
    return state + "x"


def until_two(state: str, attempts_made: int) -> WaitForConditionDecision:
    if len(state) < 2:
        return WaitForConditionDecision.continue_waiting(Duration.from_seconds(1))
    return WaitForConditionDecision.stop_polling()


@durable_execution
async def handler(event: Any, context: AsyncDurableContext) -> str:
    config = WaitForConditionConfig(wait_strategy=until_two, initial_state="", serdes=WrappedStringSerDes())
    return await context.wait_for_condition(append_x, config)
