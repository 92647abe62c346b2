"""`fast_init` builds the same values as the dataclass's own `__init__`, faster."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from perdure.wire import types
from perdure.wire.fast_init import fast_init


def _twins() -> tuple[type[Any], type[Any]]:
    """The same frozen, slotted dataclass twice: as `dataclasses` writes it, and sped up."""

    def declare() -> type[Any]:
        @dataclass(frozen=True, slots=True)
        class Value:
            a: int
            b: str
            c: int | None = None
            d: list[int] = field(default_factory=list)

        return Value

    return declare(), fast_init(declare())


CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((1, "x"), {}),
    ((1,), {"b": "x", "d": [3]}),
    ((), {"a": 1, "b": "x", "c": 2}),
    ((1, "x", 2, [4]), {}),
    # wrong calls: the same TypeError, message included
    ((), {}),
    ((1,), {}),
    ((1, "x"), {"e": 1}),
    ((1, "x"), {"a": 2}),
    ((1, "x", 2, [4], 5), {}),
]


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_the_same_values_and_errors_as_the_dataclass_init(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    plain, fast = _twins()

    def build(cls: type[Any]) -> tuple[Any, ...] | str:
        try:
            value = cls(*args, **kwargs)
        except TypeError as exc:
            return str(exc)
        return dataclasses.astuple(value)

    assert build(fast) == build(plain)


def test_everything_else_is_the_dataclass_own() -> None:
    plain, fast = _twins()
    assert str(inspect.signature(fast)) == str(inspect.signature(plain))
    value = fast(1, "x")
    assert value.d == [] and fast(1, "x").d is not value.d  # a fresh default each time
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.a = 2
    assert value == fast(1, "x") and hash(fast(1, "x", d=())) == hash(fast(1, "x", d=()))
    assert dataclasses.replace(value, c=3) == fast(1, "x", 3)
    assert repr(value) == "_twins.<locals>.declare.<locals>.Value(a=1, b='x', c=None, d=[])"


def test_wire_values_keep_their_behaviour() -> None:
    # The wire module speeds up every value type it declares (fast_init's __init__ is the
    # one that sees its `_FACTORY` sentinel).
    declared = [
        value
        for value in vars(types).values()
        if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == types.__name__
    ]
    assert len(declared) > 40
    assert [cls.__name__ for cls in declared if "_FACTORY" not in cls.__init__.__globals__] == []
    op = types.Operation(
        "id", types.OperationType.STEP, types.OperationStatus.STARTED, types.datetime(2026, 1, 1)
    )
    assert pickle.loads(pickle.dumps(op)) == op
    assert types.Event(types.EventType.STEP_STARTED, 1, op.start_timestamp).details == types.EventDetails()


@pytest.mark.parametrize(
    "declaration",
    [
        dataclass(frozen=True),  # no slots
        dataclass(slots=True),  # not frozen
    ],
)
def test_only_frozen_slotted_dataclasses(declaration: Any) -> None:
    @declaration
    class Value:
        a: int

    with pytest.raises(TypeError, match="frozen dataclass with slots"):
        fast_init(Value)


def test_what_it_does_not_reproduce_is_refused() -> None:
    @dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclass(frozen=True, slots=True)
    class KeywordOnly:
        a: int = field(kw_only=True)

    with pytest.raises(TypeError, match="__post_init__"):
        fast_init(Checked)
    with pytest.raises(TypeError, match=r"KeywordOnly\.a"):
        fast_init(KeywordOnly)
