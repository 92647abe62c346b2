"""`fast_init`: a faster `__init__` for frozen, slotted dataclasses.

The `__init__` that `dataclasses` writes for a frozen class calls `object.__setattr__`
once per field, which makes a frozen value cost about six times a plain one to build
(1.0 µs for 14 fields against 0.16 µs). A checkpoint builds about thirty such values per
user operation (updates, operations, events and their details), so that was about a
tenth of the CPU of a map of 1,000 items. The `__init__` written here sets each slot
through the slot's own descriptor, which a frozen class's `__setattr__` does not
intercept either: an `Operation` costs 0.68 µs instead of 1.14. A class of four fields or
more builds its own values as its builder, a subclass that sets attributes as `object`
does, with plain assignments, and gives them their class back (`_write_init`): an
`Operation` then costs about 5,800 machine instructions instead of 12,700. Everything
else (the signature and its defaults, default factories, immutability, equality, hashing,
`replace`, pickling) is the dataclass's own.

`value_type` declares a frozen, slotted dataclass at a tenth of the import cost: the
`dataclasses` module writes (and compiles) six methods for each frozen class, about
0.5 ms a class, which was most of the time `import perdure` took. `value_type` lets
`dataclasses` read the fields and make the slots, writes `fast_init`'s `__init__`, and
gives the class shared, already-compiled methods for the rest (equality, hashing, repr,
immutability, pickling), with the same behaviour as the dataclass's own.

Standard library only.
"""

from __future__ import annotations

import dataclasses
import inspect
import operator
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T")


class _Factory:
    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()
"""The default of a parameter whose field has a default factory (shown as `dataclasses` shows it)."""
_INITVAR = getattr(dataclasses, "_FIELD_INITVAR", None)


def fast_init(cls: type[T]) -> type[T]:
    """Replace the `__init__` of the frozen, slotted dataclass `cls` (see the module doc).

    Raises:
        TypeError: `cls` is not a frozen, slotted dataclass, or it has a field this
            `__init__` does not reproduce (`init=False`, `InitVar`).
    """
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise TypeError(f"fast_init needs a frozen dataclass with slots, not {cls.__qualname__}")
    cls.__init__ = _write_init(cls, slots=True)  # type: ignore[method-assign]
    return cls


_SWAP_FIELDS = 4
"""From this many fields on, a slotted `__init__` builds the value as its builder (below)."""
_SET_CLASS = object.__dict__["__class__"].__set__


def _write_init(cls: type[Any], *, slots: bool) -> Callable[..., None]:
    """The `__init__` of the dataclass `cls`: each slot set through its descriptor (`slots`),
    or each attribute through `object.__setattr__`; `__post_init__` called last, if any.

    A slot set through its descriptor costs a call (about 950 machine instructions, against
    about 250 for an assignment a class without `__setattr__` compiles). With `_SWAP_FIELDS`
    fields or more, the value (of the class itself, not of a subclass) is therefore built as
    an instance of its builder, a subclass that adds nothing but `object`'s `__setattr__`,
    with plain assignments, and gets its class back (two `__class__` assignments, about 1,800
    instructions): an `Event` (8 fields) costs 5,200 instructions instead of 8,300, an
    `EventDetails` (17) 5,600 instead of 13,900. Nothing else ever sees the builder."""
    namespace: dict[str, Any] = {"_FACTORY": _FACTORY, "_setattr": object.__setattr__}
    positional: list[str] = []
    keywords: list[str] = []  # keyword-only, after a `*`, as dataclasses writes them
    body: list[str] = []
    values: list[str] = []
    fields = _supported_fields(cls)
    for position, f in enumerate(fields):
        parameters = keywords if f.kw_only else positional
        value = f.name
        if f.default is not dataclasses.MISSING:
            namespace[f"_default{position}"] = f.default
            parameters.append(f"{f.name}=_default{position}")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory{position}"] = f.default_factory
            parameters.append(f"{f.name}=_FACTORY")
            value = f"_factory{position}() if {f.name} is _FACTORY else {f.name}"
        else:
            parameters.append(f.name)
        values.append(value)
        if not slots:
            body.append(f"    _setattr(self, {f.name!r}, {value})\n")
    if slots and len(fields) >= _SWAP_FIELDS:
        # The subclass's path is one line (a loop over the descriptors): the source, which
        # is compiled when the class first builds a value, stays short.
        setters = tuple(_slot(cls, f.name).__set__ for f in fields)
        namespace.update(
            _type=type, _value_type=cls, _builder=_builder(cls), _set_class=_SET_CLASS, _fill=_filler(setters)
        )
        body = [
            "    if _type(self) is _value_type:\n",
            "        _set_class(self, _builder)\n",
            *(f"        self.{f.name} = {value}\n" for f, value in zip(fields, values, strict=True)),
            "        self.__class__ = _value_type\n",
            "    else:  # a subclass's value, through the slots' descriptors\n",
            f"        _fill(self, ({', '.join(values)},))\n",
        ]
    elif slots:
        for position, (f, value) in enumerate(zip(fields, values, strict=True)):
            namespace[f"_set{position}"] = _slot(cls, f.name).__set__
            body.append(f"    _set{position}(self, {value})\n")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()\n")
    lines = body or ["    pass\n"]
    signature = ", ".join(["self", *positional, *(["*", *keywords] if keywords else [])])
    source = f"def __init__({signature}):\n" + "".join(lines)
    exec(source, namespace)  # built from field names only, as dataclasses builds its own
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = None  # as the dataclass's own, with its annotations
    init.__annotations__ = {f.name: f.type for f in fields} | {"return": None}
    return init


def _filler(setters: tuple[Callable[[Any, Any], None], ...]) -> Callable[[Any, tuple[Any, ...]], None]:
    """Sets a value's slots through their descriptors' `__set__` (`setters`), in order."""

    def fill(self: Any, values: tuple[Any, ...]) -> None:
        for set_slot, value in zip(setters, values, strict=True):
            set_slot(self, value)

    return fill


def _builder(cls: type[Any]) -> type[Any]:
    """The builder of the slotted class `cls`: a subclass with its layout (no slot of its
    own), so a value may take its class and give it back, whose attributes are set as
    `object` sets them (the frozen `__setattr__` is not called)."""
    return type(
        cls.__name__,
        (cls,),
        {
            "__slots__": (),
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__module__": cls.__module__,
            "__qualname__": f"{cls.__qualname__}.<builder>",
        },
    )


def _supported_fields(cls: type[Any]) -> tuple[dataclasses.Field[Any], ...]:
    """The fields of the dataclass `cls`, if the written `__init__` reproduces them all.

    Raises:
        TypeError: a field is `init=False`, or an `InitVar`.
    """
    if any(f._field_type is _INITVAR for f in cls.__dataclass_fields__.values()):
        raise TypeError(f"fast_init does not support the InitVar fields of {cls.__qualname__}")
    fields = dataclasses.fields(cls)
    for f in fields:
        if not f.init:
            raise TypeError(f"fast_init does not support the field {cls.__qualname__}.{f.name}")
    return fields


def _slot(cls: type[Any], name: str) -> Any:
    """The slot descriptor of `name` (declared by `cls` or the base class that has the field)."""
    for klass in cls.__mro__:
        if "__slots__" in klass.__dict__ and name in klass.__dict__:
            return klass.__dict__[name]
    raise TypeError(f"{cls.__qualname__}.{name} is not a slot")


@dataclasses.dataclass(frozen=True)
class _Frozen:
    """Only its `__dataclass_params__` is used: those of a frozen dataclass with the defaults."""


_FROZEN_PARAMS = _Frozen.__dataclass_params__  # type: ignore[attr-defined]


@overload
def value_type(cls: type[T], /) -> type[T]: ...


@overload
def value_type(*, slots: bool = True) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def value_type(cls: type[T] | None = None, /, *, slots: bool = True) -> Any:
    """`cls` as ``@dataclass(frozen=True, slots=slots)`` makes it, built faster (module doc).

    Usable bare (``@value_type``) or with ``slots=False``.

    Raises:
        TypeError: `cls` has a field the `__init__` does not reproduce (`init=False`,
            `InitVar`).
    """
    if cls is None:
        return lambda cls: _build(cls, slots)
    return _build(cls, slots)


def _build(cls: type[T], slots: bool) -> type[T]:
    documented = cls.__doc__ is not None
    if not documented:
        cls.__doc__ = "-"  # so that dataclasses does not run inspect.signature for it
    # A dataclass base makes dataclasses check that both are frozen: it then writes the
    # frozen `__setattr__` and `__delattr__` (and the slots' pickling methods) itself.
    inherits = any(dataclasses.is_dataclass(base) for base in cls.__mro__[1:])
    built: Any = dataclasses.dataclass(frozen=inherits, slots=slots, init=False, repr=False, eq=False)(cls)
    fields = _supported_fields(built)  # checked now, though the `__init__` is written later
    if not documented:
        built.__doc__ = f"{built.__name__}({', '.join(_parameter(f) for f in fields)})"
    names = tuple(f.name for f in fields)
    values = _values(names)
    compared = _values(tuple(f.name for f in fields if f.compare))
    hashed = _values(tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash)))
    shown = tuple(f.name for f in fields if f.repr)
    own = built.__dict__

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is built or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(built, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is built or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(built, self).__delattr__(name)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(hashed(self))

    def __repr__(self: Any) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({fields})"

    def __getstate__(self: Any) -> list[Any]:
        return list(values(self))

    def __setstate__(self: Any, state: list[Any]) -> None:
        for name, value in zip(names, state, strict=True):
            object.__setattr__(self, name, value)

    methods: dict[str, Callable[..., Any]] = {}
    if not inherits:
        methods.update(__setattr__=__setattr__, __delattr__=__delattr__)
        if slots:  # what dataclasses gives a frozen, slotted class, so that pickle can restore it
            methods.update(__getstate__=__getstate__, __setstate__=__setstate__)
    if "__repr__" not in own:
        methods["__repr__"] = __repr__
    if "__eq__" not in own:
        methods["__eq__"] = __eq__
    if own.get("__hash__") is None:
        methods["__hash__"] = __hash__
    for name, method in methods.items():
        method.__qualname__ = f"{built.__qualname__}.{name}"
        setattr(built, name, method)
    built.__dataclass_params__ = _FROZEN_PARAMS
    built.__init__ = _LazyInit(built, slots)
    return built  # type: ignore[no-any-return]


class _LazyInit:
    """A value type's `__init__` until it is first needed: then it is written and replaces this.

    Compiling an `__init__` costs about 60 µs and a process builds few of its value types,
    so each is compiled on first use. Whatever reads `cls.__init__` (a call of the class,
    `inspect.signature`, `dataclasses.replace`) gets the written function: reading it
    writes it. Two threads writing it at once write the same function twice.
    """

    __slots__ = ("cls", "slots")

    def __init__(self, cls: type[Any], slots: bool) -> None:
        self.cls = cls
        self.slots = slots

    def _write(self) -> Callable[..., None]:
        init = self.cls.__dict__["__init__"]
        if init is self:
            init = _write_init(self.cls, slots=self.slots)
            self.cls.__init__ = init
        return init  # type: ignore[no-any-return]

    def __get__(self, instance: Any, owner: type[Any] | None = None) -> Any:
        init = self._write()
        return init if instance is None else init.__get__(instance, owner)


def _parameter(f: dataclasses.Field[Any]) -> str:
    """One parameter of the `__init__` signature, as `inspect.signature` writes it."""
    text = f"{f.name}: {inspect.formatannotation(f.type)}"
    if f.default is not dataclasses.MISSING:
        return f"{text} = {f.default!r}"
    if f.default_factory is not dataclasses.MISSING:
        return f"{text} = <factory>"
    return text


def _values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving an instance's field values as a tuple (as the dataclass compares them)."""
    if not names:
        return lambda self: ()
    if len(names) == 1:
        name = names[0]
        return lambda self: (getattr(self, name),)
    return operator.attrgetter(*names)
