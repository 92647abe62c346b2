"""Step results come back as the type the step function declares; `wait` takes a timedelta."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

import pydantic
import pytest

from perdure import (
    AsyncDurableContext,
    DurableContext,
    Duration,
    ParallelBranch,
    StepContext,
    WaitForConditionCheckContext,
    WaitForConditionConfig,
    WaitForConditionDecision,
    durable_execution,
    durable_step,
    durable_with_child_context,
)
from perdure.sdk.errors import SerDesError
from perdure.sdk.serdes import EXTENDED_TYPES_SERDES, SerDesContext, as_type, result_type
from perdure.testing import DurableTestRunner


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass(frozen=True)
class Line:
    sku: str
    price: Decimal


@dataclasses.dataclass(frozen=True)
class Order:
    id: uuid.UUID
    placed: datetime
    color: Color
    lines: list[Line]
    note: str | None = None


class Customer(pydantic.BaseModel):
    name: str
    since: date
    favourite: Color


T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Box(Generic[T]):
    item: T


ORDER = Order(
    uuid.UUID(int=7), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), Color.BLUE, [Line("a", Decimal("1.50"))]
)


def load_order(_: StepContext) -> Order:
    return ORDER


@durable_step
def load_customer(_: StepContext, name: str) -> Customer:
    return Customer(name=name, since=date(2020, 1, 1), favourite=Color.RED)


def pick_color(_: StepContext) -> Color:
    return Color.RED


def many(_: StepContext) -> dict[str, list[Line]]:
    return {"x": [Line("b", Decimal("2"))]}


def tags(_: StepContext) -> frozenset[Color]:
    return frozenset({Color.RED, Color.BLUE})


seen: list[tuple[Any, ...]] = []


@durable_execution
def typed_flow(event: Any, context: DurableContext) -> str:
    values = (
        context.step(load_order, name="order"),
        context.step(load_customer("ann")),
        context.step(pick_color, name="color"),
        context.step(many, name="many"),
        context.step(lambda _: Decimal("0.10"), name="untyped decimal"),
        context.step(tags, name="tags"),
        context.step(lambda _: {3, 1, 2}, name="untyped set"),
    )
    seen.append(values)
    context.wait(timedelta(minutes=5), name="pause")  # replays every step above
    return "done"


def test_dataclass_pydantic_enum_results_round_trip_to_their_declared_types() -> None:
    seen.clear()
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(typed_flow)
    assert result.succeeded, result.error
    first, replayed = seen
    assert first == replayed  # the first run returns what replay returns
    order, customer, color, many_lines, untyped, tag_set, untyped_set = replayed
    assert order == ORDER and type(order.lines[0]) is Line and order.color is Color.BLUE
    assert isinstance(customer, Customer) and customer.since == date(2020, 1, 1)
    assert customer.favourite is Color.RED
    assert color is Color.RED
    assert many_lines == {"x": [Line("b", Decimal("2"))]}
    assert untyped == Decimal("0.10")
    # A set is stored as a list: a set again where the function declares one.
    assert tag_set == frozenset({Color.RED, Color.BLUE}) and type(tag_set) is frozenset
    assert sorted(untyped_set) == [1, 2, 3] and type(untyped_set) is list
    # Stored data holds fields and values, never a class to import.
    stored = result.operation("order").raw_result or ""
    assert "Order" not in stored and "Line" not in stored and "Color" not in stored
    assert "__main__" not in stored and "test_typed_results" not in stored


class Opaque:
    pass


@durable_execution
def returns_opaque(event: Any, context: DurableContext) -> Any:
    return context.step(lambda _: Opaque(), name="make opaque")


def test_an_unserialisable_result_names_the_operation_and_what_to_do() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(returns_opaque)
    assert result.status == "FAILED"
    message = (result.error.error_message if result.error else "") or ""
    assert "'make opaque'" in message and "Opaque" in message
    assert "a dataclass, a pydantic model" in message and "serdes" in message


def test_the_declared_type_is_resolved_once_per_function() -> None:
    assert result_type(load_order) is Order
    assert result_type(load_customer("x")) is Customer  # through the durable_step factory
    assert result_type(lambda _: 1) is None


def test_as_type_leaves_undeclared_shapes_alone_and_refuses_a_misfit() -> None:
    assert as_type({"a": 1}, None) == {"a": 1}
    assert as_type(["2026-01-02"], list[date]) == [date(2026, 1, 2)]
    assert as_type(None, Order) is None
    assert as_type({"a": [1, "x"]}, dict[str, Any]) == {"a": [1, "x"]}
    assert as_type([{"a": 1}], list[Any]) == [{"a": 1}]
    assert as_type(3, Any) == 3
    assert as_type({"item": "red"}, Box[Color]) == Box(Color.RED)
    assert as_type({"item": ["red"]}, Box[list[Color]]) == Box([Color.RED])
    assert as_type(["red", None], list[Color | None]) == [Color.RED, None]
    with pytest.raises(Exception, match="does not fit the declared type"):
        as_type({"sku": "a"}, Line)


def test_pydantic_is_not_needed_to_store_a_dataclass() -> None:
    text = EXTENDED_TYPES_SERDES.serialize(Line("a", Decimal("1")), SerDesContext())
    assert EXTENDED_TYPES_SERDES.deserialize(text, SerDesContext()) == {"sku": "a", "price": Decimal("1")}


@durable_execution
def waits_a_timedelta(event: Any, context: DurableContext) -> str:
    context.wait(timedelta(hours=2), name="two hours")
    return "waited"


@durable_execution
async def awaits_a_timedelta(event: Any, context: AsyncDurableContext) -> str:
    await context.wait(timedelta(hours=2), name="two hours")
    return "waited"


@pytest.mark.parametrize("handler", [waits_a_timedelta, awaits_a_timedelta], ids=["sync", "async"])
def test_wait_takes_a_timedelta_on_both_faces(handler: Any) -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(handler)
    assert result.result == "waited"
    started = next(e for e in result.history if e.event_type.value == "WaitStarted")
    assert started.details.duration == 7200


def test_wait_refuses_what_is_not_a_duration() -> None:
    @durable_execution
    def bad(event: Any, context: DurableContext) -> None:
        context.wait(5, name="five")  # type: ignore[arg-type]

    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(bad)
    message = (result.error.error_message if result.error else "") or ""
    assert "expected a Duration or a datetime.timedelta, got int" in message


async def load_order_async(_: StepContext) -> Order:
    return ORDER


@durable_execution
async def typed_async(event: Any, context: AsyncDurableContext) -> str:
    order = await context.step(load_order_async, name="order")
    await context.wait(timedelta(seconds=5), name="pause")
    assert order == ORDER and type(order) is Order, order
    return order.color.value


def test_the_async_face_returns_the_declared_type_too() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(typed_async)
    assert result.succeeded, result.error
    assert result.result == "blue" and result.invocations == 2


def quote_in_child(child: DurableContext) -> Order:
    return child.step(load_order, name="inner order")


@durable_with_child_context
def customer_in_child(child: DurableContext, name: str) -> Customer:
    return child.step(load_customer(name))


def order_branch(child: DurableContext) -> Order:
    return ORDER


def color_item(child: DurableContext, item: str, index: int, items: Any) -> Color:
    return Color(item)


@durable_execution
def typed_children(event: Any, context: DurableContext) -> str:
    values = (
        context.run_in_child_context(quote_in_child, name="child order"),
        context.run_in_child_context(customer_in_child("bo")),
        context.parallel([order_branch, ParallelBranch(order_branch, "named")], name="orders").get_results(),
        context.map(["red", "blue"], color_item, name="colors").get_results(),
        context.parallel([lambda c: ORDER], name="untyped").get_results(),
    )
    seen.append(values)
    context.wait(timedelta(minutes=5), name="pause")  # replays everything above
    return "done"


async def aquote_in_child(child: AsyncDurableContext) -> Order:
    return await child.step(load_order_async, name="inner order")


async def aorder_branch(child: AsyncDurableContext) -> Order:
    return ORDER


async def acolor_item(child: AsyncDurableContext, item: str, index: int, items: Any) -> Color:
    return Color(item)


async def acustomer(child: AsyncDurableContext) -> Customer:
    return Customer(name="bo", since=date(2020, 1, 1), favourite=Color.RED)


async def auntyped(child: AsyncDurableContext) -> Any:
    return ORDER


@durable_execution
async def atyped_children(event: Any, context: AsyncDurableContext) -> str:
    values = (
        await context.run_in_child_context(aquote_in_child, name="child order"),
        await context.run_in_child_context(acustomer, name="customer"),
        (
            await context.parallel([aorder_branch, ParallelBranch(aorder_branch, "named")], name="orders")
        ).get_results(),
        (await context.map(["red", "blue"], acolor_item, name="colors")).get_results(),
        (await context.parallel([auntyped], name="untyped")).get_results(),
    )
    seen.append(values)
    await context.wait(timedelta(minutes=5), name="pause")
    return "done"


@pytest.mark.parametrize("handler", [typed_children, atyped_children], ids=["sync", "async"])
def test_child_contexts_and_batch_items_return_their_declared_types(handler: Any) -> None:
    seen.clear()
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(handler)
    assert result.succeeded, result.error
    first, replayed = seen
    assert first == replayed  # a dataclass never equals its dict: both runs are typed
    order, customer, orders, colors, untyped = replayed
    assert type(order) is Order and order == ORDER and type(order.lines[0]) is Line
    assert isinstance(customer, Customer) and customer.favourite is Color.RED
    assert orders == [ORDER, ORDER] and all(type(o) is Order for o in orders)
    assert colors == [Color.RED, Color.BLUE]
    assert untyped == [dataclasses.asdict(ORDER) | {"color": "blue"}]  # no declared type: as decoded


def test_the_runner_gives_an_operation_result_as_a_declared_type() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(typed_flow)
    stored = result.operation("order")
    assert isinstance(stored.result, dict)  # the history holds no types
    assert stored.result_as(Order) == ORDER
    with pytest.raises(SerDesError, match=r"operation 'order'.*does not fit"):
        stored.result_as(Line)


@dataclasses.dataclass(frozen=True)
class Poll:
    seen: frozenset[str]
    polls: int


def poll(state: Poll, check: WaitForConditionCheckContext) -> Poll:
    polled.append(state)
    return Poll(state.seen | {f"poll {state.polls}"}, state.polls + 1)


def three_polls(state: Poll, attempts_made: int) -> WaitForConditionDecision:
    if state.polls >= 3:
        return WaitForConditionDecision.stop_polling()
    return WaitForConditionDecision.continue_waiting(Duration.from_seconds(5))


polled: list[Poll] = []


@durable_execution
def polling(event: Any, context: DurableContext) -> Any:
    config = WaitForConditionConfig(three_polls, initial_state=Poll(frozenset({"start"}), 0))
    final = context.wait_for_condition(poll, config, name="poll")
    polled.append(final)
    return "done"


def test_a_wait_for_condition_state_is_the_type_its_check_declares() -> None:
    # Every poll runs in its own invocation: each state the check sees was read back from
    # the record, so a dataclass of a set would come back a dict of a list undeclared.
    polled.clear()
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(polling)
    assert result.succeeded, result.error
    assert all(type(state) is Poll and type(state.seen) is frozenset for state in polled), polled
    assert polled[-1] == Poll(frozenset({"start", "poll 0", "poll 1", "poll 2"}), 3)
