"""`fast_init` builds the same values as the dataclass's own `__init__`, faster."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from perdure.wire import types
from perdure.wire.fast_init import fast_init, value_type


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


def _value_twins() -> tuple[type[Any], type[Any]]:
    """The same class as `@dataclass(frozen=True, slots=True)` and as `@value_type` makes it."""

    def declare(decorator: Any) -> type[Any]:
        @decorator
        class Value:
            a: int
            b: str
            c: int | None = None
            d: tuple[int, ...] = field(default_factory=tuple)
            e: int = field(default=0, compare=False, repr=False)

            @property
            def total(self) -> int:
                return self.a + (self.c or 0)

        return Value

    return declare(dataclass(frozen=True, slots=True)), declare(value_type)


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_value_type_builds_what_the_dataclass_builds(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    plain, fast = _value_twins()

    def build(cls: type[Any]) -> tuple[Any, ...] | str:
        try:
            value = cls(*args, **kwargs)
        except TypeError as exc:
            return str(exc)
        return dataclasses.astuple(value)

    assert build(fast) == build(plain)


def test_value_type_behaves_as_the_dataclass() -> None:
    plain, fast = _value_twins()
    a, b = plain(1, "x", 2, (3,)), fast(1, "x", 2, (3,))

    def frozen(value: Any, action: Any) -> str:
        with pytest.raises(dataclasses.FrozenInstanceError) as caught:
            action(value)
        return str(caught.value)

    def assign(value: Any) -> None:
        value.a = 5

    def delete(value: Any) -> None:
        del value.b

    assert str(inspect.signature(fast)) == str(inspect.signature(plain))
    assert fast.__doc__ == plain.__doc__
    assert fast.__match_args__ == plain.__match_args__ and fast.__slots__ == plain.__slots__
    assert [(f.name, f.type) for f in dataclasses.fields(fast)] == [
        (f.name, f.type) for f in dataclasses.fields(plain)
    ]
    assert fast.__dataclass_params__.frozen and dataclasses.is_dataclass(fast(1, "x"))
    assert repr(b).replace("value_type", "dataclass") == repr(a).replace(
        "dataclass(frozen=True, slots=True)", "dataclass"
    )
    assert b == fast(1, "x", 2, (3,)) and b != fast(1, "x", 2) and b != a and (b == 1) is False
    assert hash(b) == hash(a) and b.total == 3
    assert fast(1, "x", e=1) == fast(1, "x", e=2) and hash(fast(1, "x", e=1)) == hash(fast(1, "x", e=2))
    assert frozen(b, assign) == frozen(a, assign) and frozen(b, delete) == frozen(a, delete)
    assert dataclasses.replace(b, c=None) == fast(1, "x", d=(3,)) and dataclasses.asdict(
        b
    ) == dataclasses.asdict(a)
    with pytest.raises(AttributeError):
        b.__dict__  # noqa: B018 - slotted: no instance dictionary


def test_value_type_inherits_fields_calls_post_init_and_can_leave_out_slots() -> None:
    seen: list[Any] = []

    @value_type(slots=False)
    class Base:
        a: int

    @value_type(slots=False)
    class Child(Base):
        b: str = "x"

        def __post_init__(self) -> None:
            seen.append((self.a, self.b))

    @dataclass(frozen=True)
    class PlainChild(Base):
        b: str = "x"

    child = Child(1)
    assert seen == [(1, "x")] and vars(child) == {"a": 1, "b": "x"}
    assert str(inspect.signature(Child)) == str(inspect.signature(PlainChild))
    assert Child.__doc__ == (PlainChild.__doc__ or "").replace(
        "PlainChild", "Child"
    ) and Child.__match_args__ == ("a", "b")
    assert child == Child(1) and child != Base(1) and hash(child) == hash((1, "x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        child.b = "y"  # type: ignore[misc]


def test_a_value_built_through_its_builder_is_of_its_own_class() -> None:
    # Four fields or more: the class's own values are built as its builder, a subclass's
    # values through the slot descriptors; both end as a frozen value of their class.
    @value_type
    class Wide:
        a: int
        b: int = 2
        c: int = 3
        d: tuple[int, ...] = field(default_factory=tuple)

    class Sub(Wide):
        __slots__ = ()

    wide, sub = Wide(1), Sub(1, d=(4,))
    assert type(wide) is Wide and type(sub) is Sub and type(Wide(1, 2, 3, ())) is Wide
    assert dataclasses.astuple(wide) == (1, 2, 3, ()) and dataclasses.astuple(sub) == (1, 2, 3, (4,))
    for value in (wide, sub):
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.a = 5  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'a'"):
        Wide()  # type: ignore[call-arg]


def test_keyword_only_fields_as_the_dataclass_writes_them() -> None:
    def declare(decorator: Any) -> type[Any]:
        @decorator
        class Value:
            a: int
            b: int = field(default=2, kw_only=True)
            c: int = 3

        return Value

    plain, fast = declare(dataclass(frozen=True, slots=True)), declare(value_type)
    assert (
        str(inspect.signature(fast))
        == str(inspect.signature(plain))
        == "(a: 'int', c: 'int' = 3, *, b: 'int' = 2) -> None"
    )
    assert dataclasses.astuple(fast(1, 4, b=5)) == dataclasses.astuple(plain(1, 4, b=5)) == (1, 5, 4)
    with pytest.raises(TypeError):
        fast(1, 4, 5)


def test_what_only_the_dataclass_init_does_is_refused() -> None:
    @dataclass(frozen=True, slots=True)
    class InitOnly:
        a: dataclasses.InitVar[int]

    @dataclass(frozen=True, slots=True)
    class Derived:
        a: int = field(init=False, default=1)

    for cls in (InitOnly, Derived):
        with pytest.raises(TypeError, match="does not support"):
            fast_init(cls)

    class Value:
        a: int = field(init=False, default=1)

    with pytest.raises(TypeError, match=r"does not support the field .*Value\.a"):
        value_type(Value)  # when it is declared, not when it is first built


def test_wire_values_keep_their_behaviour() -> None:
    # The wire module declares every value type with value_type (fast_init's __init__ is the
    # one that sees its `_FACTORY` sentinel).
    declared = [
        value
        for value in vars(types).values()
        if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == types.__name__
    ]
    assert len(declared) > 40
    assert [cls.__name__ for cls in declared if "_FACTORY" not in cls.__init__.__globals__] == []
    assert [
        cls.__name__ for cls in declared if cls.__hash__.__qualname__ != f"{cls.__qualname__}.__hash__"
    ] == []
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
