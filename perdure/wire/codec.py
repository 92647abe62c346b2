"""The one codec between wire value types and the service's JSON dicts.

Driven by a field table built once per dataclass: a field `durable_execution_arn` is the
member `DurableExecutionArn`; nested dataclasses, enums, tuples, bytes and timestamps are
converted recursively. `None` members are omitted. History events carry their details
under `<EventType>Details`, with exactly the members that event type defines.

Reading, each field's presence rule comes from its declaration (`Presence`): a field with
a default may be absent or null; one without may not, unless its type admits None (the
member must be there, its value may be null: the invocation input's `CheckpointToken`, as
the official SDK reads it); a field declared with `metadata=NOT_NULL` may be absent but not null.
An empty object for an optional member whose type has required members reads as absent.

Timestamps travel in three forms: epoch milliseconds in the invocation event, epoch
seconds in the REST API's JSON, and `datetime` objects through boto3.

Standard library only.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import types
import typing
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal, TypeVar, cast

from .limits import MAX_ERROR_BYTES, utf8_size
from .types import EVENT_DETAIL_FIELDS, ErrorObject, Event, EventDetails, EventType, Presence

TimestampFormat = Literal["epoch_millis", "epoch_seconds", "datetime"]
T = TypeVar("T")

_SPECIAL_KEYS = {"x_amzn_trace_id": "XAmznTraceId"}


def member_name(field_name: str) -> str:
    """`durable_execution_arn` -> `DurableExecutionArn`."""
    special = _SPECIAL_KEYS.get(field_name)
    if special is not None:
        return special
    return "".join(part[:1].upper() + part[1:] for part in field_name.split("_"))


# A field kind drives conversion: ("dc", cls) | ("enum", cls) | ("seq", kind) | ("ts",)
# | ("bytes",) | ("scalar", str | int | bool) | ("plain",)
_Kind = tuple[Any, ...]

_SCALARS: dict[type, str] = {str: "a string", int: "an integer", bool: "a boolean"}
"""The member types decoding checks, and how an error names them: a value of the wrong JSON
type (`ClientToken: 5`, an object as `ErrorMessage`, `WaitSeconds: 1.5` or `true`) never
reaches the service as if it were right."""


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _kind_of(tp: Any) -> _Kind:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _kind_of(args[0]) if len(args) == 1 else ("plain",)
    if origin in (tuple, list):
        return ("seq", _kind_of(typing.get_args(tp)[0]))
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return ("dc", tp)
        if issubclass(tp, Enum):
            return ("enum", tp)
        if issubclass(tp, datetime):
            return ("ts",)
        if issubclass(tp, bytes):
            return ("bytes",)
        if tp in _SCALARS:
            return ("scalar", tp)
    return ("plain",)


_Field = tuple[str, str, _Kind, Presence]
_FIELDS: dict[type, tuple[_Field, ...]] = {}


def _presence(f: dataclasses.Field[Any], tp: Any) -> Presence:
    if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
        return cast(Presence, f.metadata.get("presence", Presence.OPTIONAL))
    admits_none = typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(
        tp
    )
    return Presence.NULLABLE if admits_none else Presence.REQUIRED


def _fields(cls: type) -> tuple[_Field, ...]:
    """(attribute, member, kind, presence) per field of a wire dataclass, computed once per class."""
    table = _FIELDS.get(cls)
    if table is None:
        hints = typing.get_type_hints(cls)
        table = tuple(
            (f.name, member_name(f.name), _kind_of(hints[f.name]), _presence(f, hints[f.name]))
            for f in dataclasses.fields(cls)
            if f.name != "details" or cls is not Event
        )
        _FIELDS[cls] = table
    return table


def _has_required(cls: type) -> bool:
    return any(presence in (Presence.REQUIRED, Presence.NULLABLE) for *_, presence in _fields(cls))


# ---------------------------------------------------------------------------- encode


def _encode_ts(value: datetime, fmt: TimestampFormat) -> Any:
    if fmt == "datetime":
        return value
    seconds = value.timestamp()
    if fmt == "epoch_millis":
        return round(seconds * 1000)
    return seconds


def _encode(value: Any, kind: _Kind, fmt: TimestampFormat) -> Any:
    tag = kind[0]
    if tag == "dc":
        return to_wire(value, timestamps=fmt)
    if tag == "enum":
        return value.value
    if tag == "seq":
        return [_encode(v, kind[1], fmt) for v in value]
    if tag == "ts":
        return _encode_ts(value, fmt)
    if tag == "bytes":
        return base64.b64encode(value).decode("ascii")
    return value


def to_wire(obj: Any, *, timestamps: TimestampFormat = "epoch_seconds") -> dict[str, Any]:
    """Encode a wire dataclass as the service's JSON dict (`None` members omitted, but for a
    member that must be there, which is null)."""
    out: dict[str, Any] = {}
    for name, key, kind, presence in _fields(type(obj)):
        value = getattr(obj, name)
        if value is not None:
            out[key] = _encode(value, kind, timestamps)
        elif presence is Presence.NULLABLE:
            out[key] = None
    if isinstance(obj, Event):
        out[obj.event_type.details_key] = _encode_details(obj.event_type, obj.details, timestamps)
    return out


def _encode_details(event_type: EventType, details: EventDetails, fmt: TimestampFormat) -> dict[str, Any]:
    kinds = {name: kind for name, _, kind, _ in _fields(EventDetails)}
    out: dict[str, Any] = {}
    for name in EVENT_DETAIL_FIELDS[event_type]:
        value = getattr(details, name)
        if value is not None:
            out[member_name(name)] = _encode(value, kinds[name], fmt)
    return out


# ---------------------------------------------------------------------------- decode


def _decode_ts(value: Any, fmt: TimestampFormat) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        if fmt == "epoch_millis":  # the invocation event's numbers, as the official SDK reads them
            raise ValueError(value)
        try:
            value = float(value)
        except ValueError:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    seconds = float(value) / 1000 if fmt == "epoch_millis" else float(value)
    return datetime.fromtimestamp(seconds, UTC)


def _decode(value: Any, kind: _Kind, fmt: TimestampFormat, path: str) -> Any:
    tag = kind[0]
    if tag == "dc":
        if not isinstance(value, dict):
            raise ValueError(f"{path}: expected an object, got {type(value).__name__}")
        return _from_wire(kind[1], value, fmt, path)
    if tag == "enum":
        try:
            return kind[1](value)
        except ValueError:
            allowed = ", ".join(m.value for m in kind[1])
            raise ValueError(f"{path}: {value!r} is not one of {allowed}") from None
    if tag == "seq":
        if not isinstance(value, list | tuple):
            raise ValueError(f"{path}: expected a list, got {type(value).__name__}")
        return tuple(_decode(v, kind[1], fmt, f"{path}[{i}]") for i, v in enumerate(value))
    if tag == "ts":
        try:
            return _decode_ts(value, fmt)
        except (TypeError, ValueError, OverflowError, OSError):  # OSError: out of the platform's time_t
            unit = " (epoch milliseconds)" if fmt == "epoch_millis" else ""
            raise ValueError(f"{path}: {value!r} is not a timestamp{unit}") from None
    if tag == "bytes":
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        if not isinstance(value, str):
            raise ValueError(f"{path}: expected base64 text, got {_json_type(value)}")
        try:
            return base64.b64decode(value)
        except ValueError:
            raise ValueError(f"{path}: {value[:40]!r} is not base64") from None
    if tag == "scalar":
        expected = kind[1]
        # JSON true/false are Python bools, and bool is an int subclass: refuse them as numbers.
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ValueError(f"{path}: expected {_SCALARS[expected]}, got {_json_type(value)}")
    return value


def _from_wire(cls: type[T], data: dict[str, Any], fmt: TimestampFormat, path: str) -> T:
    kwargs: dict[str, Any] = {}
    for name, key, kind, presence in _fields(cls):
        value = data.get(key)
        if value is None:
            if presence is Presence.NULLABLE and key in data:
                kwargs[name] = None
            elif presence is Presence.NOT_NULL and key in data:
                raise ValueError(f"{path}.{key}: may be absent but not null")
            continue
        if kind[0] == "dc" and value == {} and presence is not Presence.REQUIRED and _has_required(kind[1]):
            continue  # an empty object reads as absent (the official SDK's `if details := ...`)
        kwargs[name] = _decode(value, kind, fmt, f"{path}.{key}")
    if cls is Event and "EventType" in data:
        event_type = kwargs["event_type"]
        raw = data.get(event_type.details_key) or {}
        kwargs["details"] = _from_wire(EventDetails, raw, fmt, f"{path}.{event_type.details_key}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        missing = [
            key + (" (null)" if key in data else "")
            for name, key, _, presence in _fields(cls)
            if name not in kwargs and presence in (Presence.REQUIRED, Presence.NULLABLE)
        ]
        raise ValueError(f"{path}: missing required member(s) {', '.join(missing)}") from exc


def from_wire(
    cls: type[T], data: Any, *, timestamps: TimestampFormat = "epoch_seconds", path: str | None = None
) -> T:
    """Decode the service's JSON dict into `cls`.

    Raises:
        ValueError: naming the member path when a member is missing or has the wrong shape.
    """
    label = path or cls.__name__
    if not isinstance(data, dict):
        raise ValueError(f"{label}: expected an object, got {type(data).__name__}")
    return _from_wire(cls, data, timestamps, label)


# ------------------------------------------------------------------------ JSON text


def dumps(obj: Any, *, timestamps: TimestampFormat = "epoch_seconds") -> str:
    """Compact JSON text of a wire dataclass."""
    return json.dumps(to_wire(obj, timestamps=timestamps), separators=(",", ":"), ensure_ascii=False)


def error_size(error: ErrorObject) -> int:
    """An error's size: the UTF-8 bytes of its compact wire JSON, what every error bound counts."""
    return utf8_size(dumps(error))


_CUT = " [truncated]"


def fit_error(error: ErrorObject, limit: int = MAX_ERROR_BYTES) -> ErrorObject:
    """`error` cut to at most `limit` bytes (`error_size`): the largest of its message, data,
    type and stack trace is halved until it fits (a text keeps its start, marked as cut; a
    stack trace its first frames)."""
    while error_size(error) > limit:
        frames = error.stack_trace or ()
        sizes = {m: len(getattr(error, m) or "") for m in ("error_message", "error_data", "error_type")}
        sizes["stack_trace"] = sum(len(frame) for frame in frames) + 3 * len(frames)
        member = max(sizes, key=lambda m: sizes[m])
        if member == "stack_trace":
            error = dataclasses.replace(error, stack_trace=tuple(frames[: len(frames) // 2]) or None)
            continue
        text = getattr(error, member)[: sizes[member] // 2]
        error = dataclasses.replace(error, **{member: text + _CUT if text else None})
    return error


def loads(cls: type[T], text: str | bytes, *, timestamps: TimestampFormat = "epoch_seconds") -> T:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{cls.__name__}: not valid JSON ({exc})") from None
    return from_wire(cls, data, timestamps=timestamps)
