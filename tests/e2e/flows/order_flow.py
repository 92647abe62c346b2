"""An order workflow for the end-to-end tests: reserve, charge (retried), wait, ship.

`$ORDER_FLOW_TRACE` (optional) names a file that gets one line per step body run, and
`$ORDER_FLOW_SLOW` (seconds) slows each step body down so a test can kill the process
in the middle of one.
"""

from __future__ import annotations

import os
import time
from typing import Any

from perdure import (
    DurableContext,
    Duration,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    create_retry_strategy,
    durable_execution,
)

CHARGE_RETRY = create_retry_strategy(
    RetryStrategyConfig(max_attempts=3, initial_delay=Duration.from_seconds(2))
)


def _trace(line: str) -> None:
    path = os.environ.get("ORDER_FLOW_TRACE")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    delay = float(os.environ.get("ORDER_FLOW_SLOW", "0"))
    if delay:
        time.sleep(delay)


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    order_id = event["order_id"]
    items = list(event.get("items", []))

    def reserve(step_context: StepContext) -> list[str]:
        _trace(f"reserve {order_id}")
        return [f"{order_id}:{item}" for item in items]

    def charge(step_context: StepContext) -> dict[str, Any]:
        _trace(f"charge {order_id} attempt {step_context.attempt}")
        if step_context.attempt == 1:
            raise ConnectionError("payment gateway timed out")
        return {"charged": 10 * len(items), "attempt": step_context.attempt}

    def ship(step_context: StepContext) -> str:
        _trace(f"ship {order_id}")
        return f"shipped-{order_id}"

    reservations = context.step(reserve, name="reserve")
    payment = context.step(charge, name="charge", config=StepConfig(retry_strategy=CHARGE_RETRY))
    context.wait(Duration.from_seconds(5), name="cool_off")
    tracking = context.run_in_child_context(lambda child: child.step(ship, name="ship"), name="shipping")
    return {"order_id": order_id, "reservations": reservations, "payment": payment, "tracking": tracking}
