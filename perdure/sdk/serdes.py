"""Serialization of operation results: the `SerDes` interface and the built-in serdes.

Owns `SerDes[T]`, `SerDesContext`, `JsonSerDes`, `PassThroughSerDes`, the default
`ExtendedTypeSerDes` and the `serialize`/`deserialize` helpers every operation calls
(which turn any failure into a `SerDesError` naming the operation). Imports only
`perdure.sdk.errors` and the standard library; `perdure.sdk.batch` registers its
`BatchResult` for the ``br`` tag when it is imported (`register_batch_result_type`), so
this module does not import it.

The extended wire format is the official SDK's: `None`, `str`, `int`, `float`, `bool` and
lists of only those are plain compact JSON (`2`, `"two"`, `[1,2]`); everything else is a
`{"t": tag, "v": value}` envelope, applied recursively, with the tags

    n None   s str   i int   f float   b bool   B bytes (base64)   u UUID   d Decimal
    dt datetime (isoformat)   D date   t tuple   l list   m dict   br BatchResult

A set is stored as a list (there is no set tag), its items in the order of their encoded text.

A dataclass or a pydantic model is stored as the dict of its fields (``m``), an enum as its
value: stored data never names a class. A step's result comes back as the type its function
declares (`result_type`, `as_type`): `def load(_) -> Order` returns an `Order` on the first
run and on replay. pydantic is never imported here; a model is recognised when pydantic is.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import sys
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Generic, TypeVar, cast

from perdure.wire.fast_init import value_type

from .errors import RetryableSerDesError, SerDesError

T = TypeVar("T")

_PRIMITIVES = (str, int, float, bool, type(None))
_COMPACT = (",", ":")
_ENCODER = json.JSONEncoder(separators=_COMPACT)
"""What `json.dumps(value, separators=_COMPACT)` builds on every call (half its cost for a scalar)."""


@value_type
class SerDesContext:
    """Where a value is being (de)serialized.

    Attributes:
        operation_id: the id of the operation whose payload this is.
        durable_execution_arn: the execution's ARN.
    """

    operation_id: str = ""
    durable_execution_arn: str = ""


class SerDes(ABC, Generic[T]):
    """Turns a value into the string stored in a checkpoint, and back."""

    @abstractmethod
    def serialize(self, value: T, serdes_context: SerDesContext) -> str:
        """Return the checkpoint payload for `value`."""

    @abstractmethod
    def deserialize(self, data: str, serdes_context: SerDesContext) -> T:
        """Return the value stored as `data`."""

    @staticmethod
    def is_primitive(obj: Any) -> bool:
        """Whether `obj` is a JSON primitive or a list of them (nested lists allowed)."""
        if type(obj) in _PRIMITIVES or isinstance(obj, _PRIMITIVES):
            return True
        if type(obj) is list:
            return all(SerDes.is_primitive(item) for item in obj)
        return False


class PassThroughSerDes(SerDes[T]):
    """Stores the value as is; the value must already be a string."""

    def serialize(self, value: T, serdes_context: SerDesContext) -> str:
        return cast(str, value)

    def deserialize(self, data: str, serdes_context: SerDesContext) -> T:
        return cast(T, data)


class JsonSerDes(SerDes[T]):
    """Plain `json.dumps` / `json.loads`."""

    def serialize(self, value: T, serdes_context: SerDesContext) -> str:
        return json.dumps(value)

    def deserialize(self, data: str, serdes_context: SerDesContext) -> T:
        return cast(T, json.loads(data))


_batch_result: type | None = None


def register_batch_result_type(cls: type) -> None:
    """Give the extended serdes the `BatchResult` class (``br`` tag; `perdure.sdk.batch` calls it)."""
    global _batch_result
    _batch_result = cls


def _batch_result_type() -> type | None:
    return _batch_result


def _scalar_text(value: Any) -> str | None:
    """The envelope text of a str, int, bool or None (exactly those types), else None."""
    kind = type(value)
    if kind is int:
        return f'{{"t":"i","v":{int.__repr__(value)}}}'  # as `ExtendedTypeSerDes.serialize` writes it
    if kind is str:
        return f'{{"t":"s","v":{_ENCODER.encode(value)}}}'
    if value is None:
        return '{"t":"n","v":null}'
    if kind is bool:
        return '{"t":"b","v":true}' if value else '{"t":"b","v":false}'
    return None


def _batch_result_text(batch: Any) -> str:
    """`_ENCODER.encode(_encode(batch))` for a `BatchResult`, written directly.

    The generic path builds six dicts per item and encodes them (5 ms for a map of 1,000
    items, at the end of the map, where nothing overlaps it). An item with a scalar result
    and no error is written from a template; any other item goes the generic way.
    tests/property/test_serdes_roundtrip.py checks that the two texts are identical.
    """
    items = []
    for item in batch.all:
        result = _scalar_text(item.result) if item.error is None else None
        if result is None:
            items.append(_ENCODER.encode(_encode(item.to_dict())))
            continue
        name = "" if item.name is None else f',"name":{{"t":"s","v":{_ENCODER.encode(item.name)}}}'
        items.append(
            f'{{"t":"m","v":{{"index":{{"t":"i","v":{item.index:d}}},'
            f'"status":{{"t":"s","v":"{item.status._value_}"}},"result":{result},'
            f'"error":{{"t":"n","v":null}}{name}}}}}'
        )
    reason = _ENCODER.encode(batch.completion_reason.value)
    return f'{{"t":"br","v":{{"all":{{"t":"l","v":[{",".join(items)}]}},"completionReason":{{"t":"s","v":{reason}}}}}}}'


def _encode(obj: Any) -> dict[str, Any]:
    """The envelope for `obj` (recursively)."""
    kind = type(obj)
    if obj is None:
        return {"t": "n", "v": None}
    if kind is str:
        return {"t": "s", "v": obj}
    if kind is bool:
        return {"t": "b", "v": obj}
    if kind is int:
        return {"t": "i", "v": obj}
    if kind is float:
        return {"t": "f", "v": obj}
    if kind is list:
        return {"t": "l", "v": [_encode(item) for item in obj]}
    if kind is dict:
        return {"t": "m", "v": _encode_dict(obj)}
    if kind is tuple:
        return {"t": "t", "v": [_encode(item) for item in obj]}
    # Subclasses and the remaining types, in an order where bool precedes int and
    # datetime precedes date.
    if isinstance(obj, str):
        return {"t": "s", "v": str(obj)}
    if isinstance(obj, bool):
        return {"t": "b", "v": bool(obj)}
    if isinstance(obj, int):
        return {"t": "i", "v": int(obj)}
    if isinstance(obj, float):
        return {"t": "f", "v": float(obj)}
    if isinstance(obj, bytes | bytearray | memoryview):
        return {"t": "B", "v": base64.b64encode(bytes(obj)).decode("ascii")}
    # A value is a UUID or a Decimal only if its module is loaded: this one does not load them.
    uuid_module, decimal_module = sys.modules.get("uuid"), sys.modules.get("decimal")
    if uuid_module is not None and isinstance(obj, uuid_module.UUID):
        return {"t": "u", "v": str(obj)}
    if decimal_module is not None and isinstance(obj, decimal_module.Decimal):
        return {"t": "d", "v": str(obj)}
    if isinstance(obj, datetime):
        return {"t": "dt", "v": obj.isoformat()}
    if isinstance(obj, date):
        return {"t": "D", "v": obj.isoformat()}
    if isinstance(obj, tuple):
        return {"t": "t", "v": [_encode(item) for item in obj]}
    if isinstance(obj, list):
        return {"t": "l", "v": [_encode(item) for item in obj]}
    if isinstance(obj, dict):
        return {"t": "m", "v": _encode_dict(obj)}
    if isinstance(obj, set | frozenset):
        # The format has no set: stored as a list, it comes back a set where the function
        # declares one (`as_type`), else a list. Its items are written in the order of their
        # encoded text, not the set's (which for strings changes with each process's hash
        # seed): a result replay rebuilds, not reads, must encode to the same text.
        return {"t": "l", "v": sorted((_encode(item) for item in obj), key=_ENCODER.encode)}
    batch_result = _batch_result_type()
    if batch_result is not None and isinstance(obj, batch_result):
        return {"t": "br", "v": _encode_dict(cast(Any, obj).to_dict())}
    if isinstance(obj, enum.Enum):
        return _encode(obj.value)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"t": "m", "v": _encode_dict({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})}
    if _is_pydantic_model(kind):
        return {"t": "m", "v": _encode_dict(cast(Any, obj).model_dump())}
    raise SerDesError(
        f"type {kind.__module__}.{kind.__qualname__} is not serializable: return JSON-like values"
        " (dict, list, str, int, float, bool, None), a set (stored as a list), a dataclass, a pydantic"
        " model, an enum, datetime, date, Decimal, UUID or bytes, or give the operation a serdes"
        " (its config's `serdes`)"
    )


def _is_pydantic_model(kind: Any) -> bool:
    """Whether `kind` is a pydantic `BaseModel` class (never imports pydantic)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(kind, type) and issubclass(kind, pydantic.BaseModel)


def _encode_dict(obj: dict[Any, Any]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for key, value in obj.items():
        if isinstance(key, tuple):
            raise SerDesError("dict keys of type tuple are not serializable")
        out[key] = _encode(value)
    return out


def _decode(obj: Any) -> Any:
    """The value of envelope `obj` (a dict with `t` and `v`), or `obj` itself if it is not one."""
    if type(obj) is not dict or "t" not in obj or "v" not in obj:
        return obj
    tag = obj["t"]
    value = obj["v"]
    if tag == "s" or tag == "i" or tag == "f" or tag == "b":
        return value if tag != "f" else float(value)
    if tag == "n":
        return None
    if tag == "l":
        return [_decode(item) for item in _expect(value, list, tag)]
    if tag == "m":
        return {key: _decode(item) for key, item in _expect(value, dict, tag).items()}
    if tag == "t":
        return tuple(_decode(item) for item in _expect(value, list, tag))
    if tag == "B":
        return base64.b64decode(value)
    if tag == "u":
        import uuid

        return uuid.UUID(value)
    if tag == "d":
        from decimal import Decimal

        return Decimal(value)
    if tag == "dt":
        text = value[:-1] + "+00:00" if isinstance(value, str) and value.endswith("Z") else value
        return datetime.fromisoformat(text)
    if tag == "D":
        return date.fromisoformat(value)
    if tag == "br":
        batch_result = _batch_result_type()
        if batch_result is None:
            raise SerDesError("a BatchResult envelope needs perdure.sdk.batch")
        decoded = {key: _decode(item) for key, item in _expect(value, dict, tag).items()}
        return cast(Any, batch_result).from_dict(decoded)
    raise SerDesError(f'unknown type tag: "{tag}"')


def _expect(value: Any, kind: type, tag: str) -> Any:
    if not isinstance(value, kind):
        raise SerDesError(f'envelope "{tag}" expects a {kind.__name__}, got {type(value).__name__}')
    return value


class ExtendedTypeSerDes(SerDes[Any]):
    """The default serdes: round-trips common Python types (see the module docstring)."""

    def serialize(self, value: Any, serdes_context: SerDesContext | None = None) -> str:
        if type(value) is int:
            return int.__repr__(value)  # what the encoder writes, without its slow path for non-strings
        if SerDes.is_primitive(value):
            return _ENCODER.encode(value)
        if type(value) is _batch_result_type():
            return _batch_result_text(value)
        return _ENCODER.encode(_encode(value))

    def deserialize(self, data: str, serdes_context: SerDesContext | None = None) -> Any:
        obj = json.loads(data)
        if SerDes.is_primitive(obj):
            return obj
        if not (type(obj) is dict and "t" in obj and "v" in obj):
            raise SerDesError('malformed envelope: missing "t" or "v" at the root')
        return _decode(obj)


DEFAULT_JSON_SERDES: SerDes[Any] = JsonSerDes()
_EXTENDED = ExtendedTypeSerDes()
EXTENDED_TYPES_SERDES: SerDes[Any] = _EXTENDED


def serialize(
    serdes: SerDes[T] | None,
    value: T,
    operation_id: str,
    durable_execution_arn: str,
    operation_name: str | None = None,
) -> str:
    """Serialize `value` with `serdes` (default: the extended serdes).

    Raises:
        SerDesError: naming the operation (its name too, when given) and the value's type
            when serialization fails.
        RetryableSerDesError: propagated unchanged from a serdes that raised it.
    """
    where = operation_id if operation_name is None else f"{operation_id} (name {operation_name!r})"
    try:
        if serdes is None:  # the default reads no context: none is built
            return _EXTENDED.serialize(value)
        return serdes.serialize(value, SerDesContext(operation_id, durable_execution_arn))
    except (SerDesError, RetryableSerDesError) as exc:
        if isinstance(exc, SerDesError) and exc.message and operation_id not in exc.message:
            exc.message = f"Serialization failed for id: {where}, error: {exc.message}."
            exc.args = (exc.message,)
        raise
    except Exception as exc:
        kind = type(value)
        raise SerDesError(
            f"Serialization failed for id: {where} (value of type "
            f"{kind.__module__}.{kind.__qualname__}), error: {exc}."
        ) from exc


_SCALARS = frozenset(_PRIMITIVES)


def round_trip(
    serdes: SerDes[T] | None, value: T, payload: str | None, operation_id: str, durable_execution_arn: str
) -> T | None:
    """What replay returns for `payload`, the serialization of `value`.

    That is `value` itself when the default serdes wrote a scalar (a str, int, float,
    bool or None of exactly that type comes back equal and of the same type), which saves
    parsing it again; otherwise `deserialize(payload)`.
    """
    if serdes is None and type(value) in _SCALARS:
        return value
    return None if payload is None else deserialize(serdes, payload, operation_id, durable_execution_arn)


def deserialize(serdes: SerDes[T] | None, data: str, operation_id: str, durable_execution_arn: str) -> T:
    """Deserialize `data` with `serdes` (default: the extended serdes).

    Raises:
        SerDesError: naming the operation when deserialization fails.
        RetryableSerDesError: propagated unchanged from a serdes that raised it.
    """
    try:
        if serdes is None:  # the default reads no context: none is built
            return cast(T, _EXTENDED.deserialize(data))
        return serdes.deserialize(data, SerDesContext(operation_id, durable_execution_arn))
    except (SerDesError, RetryableSerDesError) as exc:
        if isinstance(exc, SerDesError) and exc.message and operation_id not in exc.message:
            exc.message = f"Deserialization failed for id: {operation_id}, error: {exc.message}."
            exc.args = (exc.message,)
        raise
    except Exception as exc:
        raise SerDesError(f"Deserialization failed for id: {operation_id}, error: {exc}.") from exc


# ------------------------------------------------------------------- typed results

_RESULT_TYPES: dict[object, Any] = {}
"""The declared return type per function (keyed by its code object), resolved once."""


def result_type(func: Callable[..., Any]) -> Any:
    """The return type `func` declares (None: none, or one that does not resolve, or `Any`).

    A `durable_step` factory's body is read through its `__wrapped__` function.
    """
    target: Any = getattr(func, "__wrapped__", func)
    key = getattr(target, "__code__", None) or type(target)
    try:
        return _RESULT_TYPES[key]
    except KeyError:
        pass
    annotations = getattr(target, "__annotations__", None)
    declared: Any = None
    if annotations and "return" in annotations:
        try:
            declared = typing.get_type_hints(target).get("return")
        except Exception:  # a name the module cannot resolve: the value stays as decoded
            declared = None
    if declared is Any or isinstance(declared, TypeVar) or declared is type(None):
        declared = None
    _RESULT_TYPES[key] = declared
    return declared


def as_type(value: Any, declared: Any) -> Any:
    """`value`, as the serdes decoded it, converted to `declared` where it is a dataclass, a
    pydantic model, an enum, a datetime, date, Decimal or UUID, or a container of those
    (list, tuple, set, dict, Optional); anything else is returned unchanged.

    Raises:
        SerDesError: `value` does not fit `declared` (say, a field is missing).
    """
    if declared is None or value is None or type(value) is declared or not _converts(declared):
        return value
    try:
        return _as_type(value, declared)
    except SerDesError:
        raise
    except Exception as exc:
        raise SerDesError(f"the stored value does not fit the declared type {declared!r}: {exc}") from exc


def declared_result_type(func: Callable[..., Any], serdes: SerDes[Any] | None) -> Any:
    """The type a result of `func` is decoded to: the return type it declares, under the
    default serdes only (a custom serdes decodes to what it decodes to); None: as decoded."""
    return result_type(func) if serdes is None else None


def as_declared(value: Any, declared: Any, operation: str) -> Any:
    """`as_type(value, declared)`, a misfit's `SerDesError` naming `operation`
    (say "step 'quote' (id 1)")."""
    try:
        return as_type(value, declared)
    except SerDesError as exc:
        raise SerDesError(f"{operation}: {exc.message or exc}") from exc


_CONVERTS: dict[Any, bool] = {}
_DECODED_AS_IS = frozenset({str, int, float, bool, bytes, list, dict, object, type(None)})
_CONTAINERS = (list, dict, typing.Union, types.UnionType, typing.Annotated)


def _converts(declared: Any) -> bool:
    """Whether a value decoded for `declared` may need converting (cached: most do not)."""
    try:
        return _CONVERTS[declared]
    except KeyError:
        pass
    except TypeError:  # an unhashable annotation
        return True
    origin = typing.get_origin(declared)
    if origin is not None:
        found = (
            origin in (tuple, set, frozenset)
            or (origin not in _CONTAINERS and _converts(origin))
            or any(_converts(a) for a in typing.get_args(declared) if a is not Ellipsis)
        )
    else:
        found = isinstance(declared, type) and declared not in _DECODED_AS_IS and declared is not Any
    _CONVERTS[declared] = found
    return found


def _as_type(value: Any, declared: Any) -> Any:
    if declared is Any or declared is object or isinstance(declared, TypeVar):
        return value
    origin = typing.get_origin(declared)
    if origin is None:
        return _as_class(value, declared) if isinstance(declared, type) else value
    args = typing.get_args(declared)
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in args if a is not type(None)]
        return _as_type(value, options[0]) if len(options) == 1 and value is not None else value
    if origin is typing.Annotated:
        return _as_type(value, args[0])
    if origin in (list, set, frozenset) and isinstance(value, list | tuple | set | frozenset):
        item = args[0] if args else None
        return origin(_as_type(v, item) if item is not None else v for v in value)
    if origin is tuple and isinstance(value, list | tuple):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_as_type(v, args[0]) for v in value)
        if len(args) == len(value):
            return tuple(_as_type(v, a) for v, a in zip(value, args, strict=True))
        return tuple(value)
    if origin is dict and isinstance(value, dict) and len(args) == 2:
        return {k: _as_type(v, args[1]) for k, v in value.items()}
    if isinstance(origin, type) and origin not in (list, dict, tuple, set, frozenset):
        # A generic dataclass or model, say `Page[Order]`: its fields' type variables are bound.
        return _as_class(value, origin, dict(zip(getattr(origin, "__parameters__", ()), args, strict=False)))
    return value


def _as_class(value: Any, cls: type, bound: dict[Any, Any] | None = None) -> Any:
    if isinstance(value, cls) and not (cls is date and isinstance(value, datetime)):
        return value
    if issubclass(cls, enum.Enum):
        return cls(value)
    if dataclasses.is_dataclass(cls) and isinstance(value, dict):
        hints = _field_types(cls)
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        return cls(**{k: _as_type(v, _bind(hints.get(k), bound)) for k, v in value.items() if k in known})
    if _is_pydantic_model(cls):
        return cast(Any, cls).model_validate(value)
    if isinstance(value, str):
        if cls is datetime:
            return datetime.fromisoformat(value)
        if cls is date:
            return date.fromisoformat(value)
        # `cls` is a UUID or a Decimal only if its module is loaded: this one does not load them.
        uuid_module, decimal_module = sys.modules.get("uuid"), sys.modules.get("decimal")
        if (uuid_module is not None and cls is uuid_module.UUID) or (
            decimal_module is not None and cls is decimal_module.Decimal
        ):
            return cls(value)
    if cls in (tuple, set, frozenset) and isinstance(value, list):
        return cls(value)
    return value


def _bind(hint: Any, bound: dict[Any, Any] | None) -> Any:
    """`hint` with the type variables in `bound` replaced (`T` -> `Order`, `list[T]` -> `list[Order]`)."""
    if not bound or hint is None:
        return hint
    if isinstance(hint, TypeVar):
        return bound.get(hint)
    parameters = getattr(hint, "__parameters__", ())
    if parameters and all(p in bound for p in parameters):
        return hint[tuple(bound[p] for p in parameters)]
    return hint


_FIELD_TYPES: dict[type, dict[str, Any]] = {}


def _field_types(cls: type) -> dict[str, Any]:
    found = _FIELD_TYPES.get(cls)
    if found is None:
        try:
            found = typing.get_type_hints(cls)
        except Exception:  # unresolvable annotations: the fields stay as decoded
            found = {}
        _FIELD_TYPES[cls] = found
    return found
