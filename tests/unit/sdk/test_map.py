"""DurableContext.map through a handler and the fake service.

Conformance ids name the requirements in tests/conformance/requirements.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from perdure.sdk.batch import BatchItem, BatchResult
from perdure.sdk.completion import (
    BatchItemStatus,
    CompletionConfig,
    CompletionReason,
    MapConfig,
    NestingType,
    ParallelConfig,
)
from perdure.sdk.config import Duration
from perdure.sdk.context import DurableContext
from perdure.sdk.ids import operation_id
from perdure.sdk.serdes import SerDes, SerDesContext

from .batch_support import DroppingService
from .fakes import FakeService, run_body

M = operation_id(None, 1)


def test_func_receives_item_index_and_items() -> None:
    """9-1, 9-3: one MapIteration per item, results in index order."""
    seen: list[Sequence[int]] = []

    def func(ctx: DurableContext, item: int, index: int, items: Sequence[int]) -> int:
        seen.append(items)
        return ctx.step(lambda _: item + index)

    inputs = [10, 20, 30]
    output, service, _ = run_body(lambda ctx: ctx.map(inputs, func, name="indexed").get_results())
    assert output["Result"] == "[10, 21, 32]"
    assert all(items is inputs for items in seen)
    iterations = [u for u in service.updates() if u.sub_type == "MapIteration" and u.action.value == "START"]
    assert sorted((u.name, u.id, u.parent_id) for u in iterations) == sorted(
        (f"map-item-{i}", operation_id(M, i), M) for i in range(3)
    )
    assert service.updates()[0].sub_type == "Map" and service.updates()[0].name == "indexed"


def test_name_defaults_to_the_decorated_function() -> None:
    def double(ctx: DurableContext, item: int, index: int, items: Sequence[int]) -> int:
        return item * 2

    double._original_name = "double"  # type: ignore[attr-defined]  # as the decorators set it
    output, service, _ = run_body(lambda ctx: ctx.map([1, 2], double).get_results())
    assert output["Result"] == "[2, 4]"
    assert service.updates()[0].name == "double"


def test_default_completion_fails_fast() -> None:
    """As the official SDK (not the .NET one): map's default CompletionConfig() stops at the first failure."""

    def func(ctx: DurableContext, item: str, index: int, items: Any) -> str:
        if item == "bad":
            raise RuntimeError("bad item")
        return item

    def body(ctx: DurableContext) -> Any:
        result = ctx.map(["ok", "bad", "never"], func, config=MapConfig(max_concurrency=1))
        return [result.completion_reason.value, [i.status.value for i in result.all]]

    output, service, _ = run_body(body)
    assert json.loads(output["Result"]) == ["FAILURE_TOLERANCE_EXCEEDED", ["SUCCEEDED", "FAILED"]]
    assert (
        len([u for u in service.updates() if u.sub_type == "MapIteration" and u.action.value == "START"]) == 2
    )


def test_empty_map() -> None:
    """9-4."""
    output, service, _ = run_body(lambda ctx: ctx.map([], lambda *a: 1, name="empty").get_results())
    assert output["Result"] == "[]"
    assert service.actions() == [("CONTEXT", "START"), ("CONTEXT", "SUCCEED")]


def test_item_namer_names_iterations() -> None:
    """9-13."""

    def body(ctx: DurableContext) -> Any:
        config: MapConfig[int] = MapConfig(max_concurrency=1, item_namer=lambda item, i: f"item-{item}")
        result = ctx.map([1, 2], lambda c, item, i, items: item * 10, config=config)
        return [[i.name for i in result.all], result.get_results()]

    output, service, _ = run_body(body)
    assert output["Result"] == '[["item-1", "item-2"], [10, 20]]'
    names = [u.name for u in service.updates() if u.sub_type == "MapIteration" and u.action.value == "START"]
    assert names == ["item-1", "item-2"]


@pytest.mark.parametrize(
    ("namer", "message"),
    [
        (lambda item, i: str(1 // (2 - i)), "item_namer raised for map item 2: ZeroDivisionError"),
        (lambda item, i: i, "item_namer must return a string, got int for map item 0"),
    ],
)
def test_bad_item_namer_fails_before_any_checkpoint(namer: Any, message: str) -> None:
    output, service, _ = run_body(
        lambda ctx: ctx.map([1, 2, 3], lambda *a: 1, config=MapConfig(item_namer=namer))
    )
    assert output["Status"] == "FAILED" and message in output["Error"]["ErrorMessage"]
    assert service.updates() == []


@pytest.mark.parametrize(
    ("inputs", "func", "config", "message"),
    [
        ([1], "not callable", None, "map function must be callable"),
        (42, lambda *a: 1, None, "map expects a sequence of inputs, got int"),
        ([1, 2], lambda *a: 1, MapConfig(completion_config=CompletionConfig(min_successful=3)), "3 > 2"),
    ],
)
def test_invalid_map_fails_before_any_checkpoint(inputs: Any, func: Any, config: Any, message: str) -> None:
    output, service, _ = run_body(lambda ctx: ctx.map(inputs, func, config=config))
    assert output["Status"] == "FAILED" and message in output["Error"]["ErrorMessage"]
    assert service.updates() == []


class _Wrapping(SerDes[Any]):
    """9-14: a real, non-identity serdes."""

    def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
        return f"wrapped:{value}"

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
        return data.removeprefix("wrapped:")


class _WholeResult(SerDes[Any]):
    """9-19: serializes the whole BatchResult (only)."""

    def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
        assert isinstance(value, BatchResult)
        return "OPSERDE:" + ",".join(value.get_results())

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
        values = data.removeprefix("OPSERDE:").split(",")
        return BatchResult(
            [BatchItem(i, BatchItemStatus.SUCCEEDED, v) for i, v in enumerate(values)],
            CompletionReason.ALL_COMPLETED,
        )


def test_item_serdes_writes_each_iteration() -> None:
    """9-14, 8-15."""
    upper = lambda c, item, i, items: item.upper()  # noqa: E731
    output, service, _ = run_body(
        lambda ctx: ctx.map(["x", "y"], upper, config=MapConfig(1, item_serdes=_Wrapping())).get_results()
    )
    assert output["Result"] == '["X", "Y"]'
    payloads = [
        u.payload for u in service.updates() if u.sub_type == "MapIteration" and u.action.value == "SUCCEED"
    ]
    assert payloads == ["wrapped:X", "wrapped:Y"]


def test_operation_serdes_owns_the_batch_payload_and_items_keep_the_default() -> None:
    """9-19, 9-20: `serdes` serializes the whole result; iterations use the default serdes."""
    upper = lambda c, item, i, items: item.upper()  # noqa: E731

    def body(ctx: DurableContext) -> Any:
        result = ctx.map(["x", "y"], upper, config=MapConfig(1, serdes=_WholeResult()))
        ctx.wait(Duration(1))
        return result.get_results()

    output, service, invocations = run_body(body)
    assert output["Result"] == '["X", "Y"]' and invocations == 2
    updates = service.updates()
    assert [u.payload for u in updates if u.sub_type == "Map" and u.action.value == "SUCCEED"] == [
        "OPSERDE:X,Y"
    ]
    assert [u.payload for u in updates if u.sub_type == "MapIteration" and u.action.value == "SUCCEED"] == [
        '"X"',
        '"Y"',
    ]


def test_nested_parallel_inside_map() -> None:
    """A parallel inside each iteration: its own batch, parented to the iteration."""

    def func(ctx: DurableContext, item: str, index: int, items: Any) -> list[str]:
        inner = ctx.parallel(
            [lambda c: c.step(lambda _: f"{item}1"), lambda c: c.step(lambda _: f"{item}2")],
            name="inner",
            config=ParallelConfig(max_concurrency=2),
        )
        return inner.get_results()

    def body(ctx: DurableContext) -> Any:
        result = ctx.map(["a", "b", "c"], func, name="outer", config=MapConfig(max_concurrency=2))
        ctx.wait(Duration(1))
        return result.get_results()

    for service in (FakeService(), DroppingService()):
        output, service, _ = run_body(body, service)
        assert output["Result"] == '[["a1", "a2"], ["b1", "b2"], ["c1", "c2"]]'
        inner = [u for u in service.updates() if u.sub_type == "Parallel" and u.action.value == "START"]
        assert sorted(u.parent_id for u in inner) == sorted(operation_id(M, i) for i in range(3))  # type: ignore[type-var]
        assert {u.id for u in inner} == {operation_id(operation_id(M, i), 1) for i in range(3)}


def test_ten_thousand_items() -> None:
    """10,000 items, unbounded concurrency, FLAT and NESTED, within a unit test's budget."""
    for nesting in (NestingType.FLAT, NestingType.NESTED):
        started = time.monotonic()

        def body(ctx: DurableContext, nesting: NestingType = nesting) -> Any:
            result = ctx.map(
                list(range(10_000)),
                lambda c, item, i, items: item * 2,
                config=MapConfig(nesting_type=nesting),
            )
            return [result.success_count, result.get_results()[-1], result.completion_reason.value]

        output, service, _ = run_body(body)
        assert json.loads(output["Result"]) == [10_000, 19_998, "ALL_COMPLETED"]
        expected = 2 if nesting is NestingType.FLAT else 2 + 2 * 10_000
        assert len(service.updates()) == expected
        assert time.monotonic() - started < 10


def test_map_over_a_large_aggregate_overflows() -> None:
    """9-16: four ~70 KB results; the Map SUCCEED is the envelope with ReplayChildren."""

    def body(ctx: DurableContext) -> Any:
        result = ctx.map(list(range(4)), lambda c, item, i, items: str(item) * (70 * 1024), name="large")
        ctx.wait(Duration(1))
        return {"successCount": result.success_count, "lengths": [len(r) for r in result.get_results()]}

    output, service, invocations = run_body(body)
    assert json.loads(output["Result"]) == {"successCount": 4, "lengths": [71680] * 4}
    (done,) = [u for u in service.updates() if u.sub_type == "Map" and u.action.value == "SUCCEED"]
    assert done.context_options is not None and done.context_options.replay_children is True
    envelope = json.loads(done.payload or "")
    assert envelope["type"] == "MapResult" and envelope["totalCount"] == 4
    assert len(done.payload or "") <= 256 * 1024
    assert invocations == 2


class _Order:
    """A type only the item serdes knows."""

    def __init__(self, number: int) -> None:
        self.number = number

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Order) and other.number == self.number

    def __hash__(self) -> int:
        return self.number


class _OrderSerDes(SerDes[Any]):
    def serialize(self, value: Any, serdes_context: SerDesContext) -> str:
        return json.dumps({"order": value.number})

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Any:
        return _Order(json.loads(data)["order"])


@pytest.mark.parametrize("nesting", [NestingType.NESTED, NestingType.FLAT])
def test_item_serdes_types_round_trip_through_the_batch_record(nesting: NestingType) -> None:
    """With only an item_serdes, the batch payload holds the items as it wrote them, so a
    result type the default serdes cannot encode still completes and replays exactly."""
    seen: list[BatchResult[Any]] = []

    def func(ctx: DurableContext, item: int, index: int, items: Any) -> _Order:
        if item == 3:
            raise KeyError("three")
        return _Order(item)

    def body(ctx: DurableContext) -> Any:
        config: MapConfig[int] = MapConfig(
            completion_config=CompletionConfig.all_completed(),
            item_serdes=_OrderSerDes(),
            nesting_type=nesting,
        )
        result = ctx.map([1, 2, 3], func, name="orders", config=config)
        seen.append(result)
        ctx.wait(Duration(1))
        return [o.number for o in result.get_results()]

    output, _, invocations = run_body(body)
    assert output["Result"] == "[1, 2]" and invocations == 2
    assert seen[0] == seen[1] and seen[1].all[2].error.error_type == "KeyError"  # type: ignore[union-attr]


@pytest.mark.parametrize("nesting", [NestingType.NESTED, NestingType.FLAT])
@pytest.mark.parametrize("pad", [0, 100_000], ids=["recorded", "replay-children"])
def test_default_serdes_first_run_returns_what_replay_returns(nesting: NestingType, pad: int) -> None:
    """Under the default serdes the batch returns its branches' values without a round trip
    of its own: they already are round trips, so the first run and a replay still agree,
    types and all (a tuple stays a tuple, int dict keys become strings on both)."""
    values: list[Any] = [
        (1, "a"),
        {1: "int key", "nested": [1.5, None, True]},
        datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
        Decimal("1.10"),
        b"\x00bytes",
        None,
        *(f"{i}" * pad for i in range(3)),
    ]
    seen: list[BatchResult[Any]] = []

    def func(ctx: DurableContext, item: int, index: int, items: Any) -> Any:
        if item == len(values):
            raise ValueError("the last one fails")
        return values[item]  # no step: only the branch's own round trip shapes it

    def body(ctx: DurableContext) -> Any:
        config: MapConfig[int] = MapConfig(
            completion_config=CompletionConfig.all_completed(), nesting_type=nesting
        )
        result = ctx.map(list(range(len(values) + 1)), func, name="typed", config=config)
        seen.append(result)
        ctx.wait(Duration(1))
        return len(result.succeeded())

    output, _, invocations = run_body(body)
    assert output["Result"] == str(len(values)) and invocations == 2
    first, replayed = seen
    assert first == replayed and repr(first) == repr(replayed)
    assert first.get_results()[0] == (1, "a") and first.get_results()[1] == {
        "1": "int key",
        "nested": [1.5, None, True],
    }
    assert first.all[-1].error is not None and first.all[-1].error.error_type == "ValueError"


def test_serdes_failure_of_an_item_is_a_failed_item() -> None:
    def body(ctx: DurableContext) -> Any:
        result = ctx.map([1], lambda c, *a: object(), config=MapConfig())
        return [result.all[0].status.value, result.all[0].error.error_type]  # type: ignore[union-attr]

    output, _, _ = run_body(body)
    assert output["Result"] == '["FAILED", "perdure.sdk.errors.SerDesError"]'
