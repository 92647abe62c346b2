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
"""

from __future__ import annotations

import base64
import json
import sys
from abc import ABC, abstractmethod
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
    batch_result = _batch_result_type()
    if batch_result is not None and isinstance(obj, batch_result):
        return {"t": "br", "v": _encode_dict(cast(Any, obj).to_dict())}
    raise SerDesError(f"type {kind.__module__}.{kind.__qualname__} is not serializable")


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


def serialize(serdes: SerDes[T] | None, value: T, operation_id: str, durable_execution_arn: str) -> str:
    """Serialize `value` with `serdes` (default: the extended serdes).

    Raises:
        SerDesError: naming the operation and the value's type when serialization fails.
        RetryableSerDesError: propagated unchanged from a serdes that raised it.
    """
    try:
        if serdes is None:  # the default reads no context: none is built
            return _EXTENDED.serialize(value)
        return serdes.serialize(value, SerDesContext(operation_id, durable_execution_arn))
    except (SerDesError, RetryableSerDesError) as exc:
        if isinstance(exc, SerDesError) and exc.message and operation_id not in exc.message:
            exc.message = f"Serialization failed for id: {operation_id}, error: {exc.message}."
            exc.args = (exc.message,)
        raise
    except Exception as exc:
        kind = type(value)
        raise SerDesError(
            f"Serialization failed for id: {operation_id} (value of type "
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
