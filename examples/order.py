"""An order workflow: reserve stock, charge the card, let the order cool off, ship it.

Every `context.*` call below is checkpointed. When the function is invoked again (after
the charge's retry delay, after the wait, after a crash) it replays the recorded results
instead of running those steps again, and carries on from where it stopped.

    perdure run examples/order.py:handler \
        --input '{"order_id": "o-1001", "items": ["book", "lamp"]}' --skip-time

The payment gateway "times out" on the first attempt of every charge (deterministically,
so runs are reproducible); the charge step's retry strategy retries that error only, and
the second attempt succeeds. The same file deploys unchanged as an AWS Lambda durable
function (handler `order.handler`); with the official SDK only the imports differ.
"""

from __future__ import annotations

import hashlib
from typing import Any

from perdure import (
    DurableContext,
    Duration,
    JitterStrategy,
    RetryPresets,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    create_retry_strategy,
    durable_execution,
    durable_step,
    durable_with_child_context,
)

EXAMPLE_INPUT = {"order_id": "o-1001", "items": ["book", "lamp"]}
"""The input `make demo` and the tests run this example with."""

PRICES_CENTS = {"book": 1800, "lamp": 4250, "mug": 900, "poster": 1200}


class PaymentGatewayTimeoutError(Exception):
    """The (simulated) card processor did not answer in time: worth retrying."""


class OutOfStockError(Exception):
    """An item cannot be reserved: retrying will not help."""


def _stable_id(prefix: str, *parts: str) -> str:
    # Derived from the order, not random: a step's result must not depend on when it runs.
    return prefix + hashlib.sha256("/".join(parts).encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------- steps


@durable_step
def reserve_inventory(step: StepContext, order_id: str, items: list[str]) -> dict[str, Any]:
    missing = [item for item in items if item not in PRICES_CENTS]
    if missing:
        raise OutOfStockError(f"not in stock: {', '.join(missing)}")
    step.logger.info(f"reserved {len(items)} item(s) for {order_id}")
    return {
        "reservation_id": _stable_id("rsv_", order_id),
        "total_cents": sum(PRICES_CENTS[item] for item in items),
    }


@durable_step
def charge_card(step: StepContext, order_id: str, amount_cents: int) -> dict[str, Any]:
    if step.attempt == 1:
        raise PaymentGatewayTimeoutError("payment gateway timed out (simulated on the first attempt)")
    step.logger.info(f"charged {amount_cents} cents for {order_id} on attempt {step.attempt}")
    return {"charge_id": _stable_id("ch_", order_id), "amount_cents": amount_cents, "attempts": step.attempt}


@durable_step
def pack_parcel(step: StepContext, order_id: str, items: list[str]) -> dict[str, Any]:
    return {"parcel_id": _stable_id("pcl_", order_id), "items": len(items)}


@durable_step
def book_courier(step: StepContext, parcel_id: str) -> str:
    return _stable_id("TRK", parcel_id).upper()


@durable_with_child_context
def ship(ctx: DurableContext, order_id: str, items: list[str]) -> dict[str, Any]:
    """Shipping is its own unit: a child context holding two steps."""
    parcel = ctx.step(pack_parcel(order_id, items))
    tracking = ctx.step(book_courier(parcel["parcel_id"]))
    return {"parcel_id": parcel["parcel_id"], "tracking_number": tracking}


# --------------------------------------------------------------------------- config

NO_RETRY = StepConfig(retry_strategy=RetryPresets.none())

CHARGE = StepConfig(
    retry_strategy=create_retry_strategy(
        RetryStrategyConfig(
            max_attempts=3,
            initial_delay=Duration.from_seconds(2),
            backoff_rate=2.0,
            jitter_strategy=JitterStrategy.NONE,
            retryable_error_types=[PaymentGatewayTimeoutError],
        )
    )
)


# -------------------------------------------------------------------------- handler


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    order_id = str(event["order_id"])
    items = [str(item) for item in event.get("items", [])]

    reservation = context.step(reserve_inventory(order_id, items), config=NO_RETRY)
    payment = context.step(charge_card(order_id, reservation["total_cents"]), config=CHARGE)
    context.wait(Duration.from_seconds(5), name="cool-off")
    shipment = context.run_in_child_context(ship(order_id, items), name="ship")

    return {
        "order_id": order_id,
        "status": "shipped",
        "reservation_id": reservation["reservation_id"],
        "total_cents": reservation["total_cents"],
        "charge_id": payment["charge_id"],
        "charge_attempts": payment["attempts"],
        "tracking_number": shipment["tracking_number"],
    }
