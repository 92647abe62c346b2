"""Every request checked against the botocore Lambda model before it reaches the service.

`RequestValidator.check` walks a request's members (gathered from the path, query string,
headers and body) against the operation's input shape and refuses, with one
`InvalidParameterValueError` naming each offending member (`Updates[3].Id`), whatever the
model forbids: a JSON type other than the member's, a missing required member, a string
length or integer outside min/max (integers without bounds are 32-bit, longs 64-bit, as
in the service's Java), a string that does not fully match the member's pattern or is not
one of its enum values, a list length out of bounds, a blob over its size, a string that
is not Unicode text (a lone surrogate). Members the model does not define are ignored, as
AWS ignores them; values are not echoed for members the model marks sensitive.
`parse_json` reads a JSON body with bounded nesting (`MAX_JSON_DEPTH`), because Python's
`json` recurses once per level and would raise `RecursionError` on a deep document.

What the engine checks beyond the model (the checkpoint size, the 256 KiB payload limit,
tokens, markers, ids it issued) stays in the engine. A few rules the model states are also
the engine's own (MaxItems 0..1000, the ClientToken and execution-name patterns, delay
ranges): the in-process link reaches the engine without HTTP, so the engine keeps them,
and here they come from the model's data rather than from a second hand-written copy.

Why a generated schema file and not botocore at run time: the model's shapes for these
ten operations are written to `lambda_requests.json` (9 KB) by `generate_schema`.
Loading botocore's Lambda model costs 0.11-0.13 s per process with warm disk caches and
about 0.7 s cold (importing botocore, then reading the model), and 16.6 MB of memory
(tracemalloc), and would make botocore a run-time dependency of `perdure serve`; the file
loads and compiles in about 1.2 ms.
The file is derived, never edited: `tests/unit/tools/test_server_validation.py`
regenerates it from the installed botocore model and compares, so a model change is a
failing test, and `python -m perdure.server.validation` rewrites it (that needs botocore).
Imports `perdure.wire` and the standard library (botocore only inside `main`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perdure.wire.errors import InvalidParameterValueError, InvalidRequestContentError

SCHEMA_FILE = Path(__file__).with_name("lambda_requests.json")

OPERATIONS = (
    "Invoke",
    "CheckpointDurableExecution",
    "GetDurableExecutionState",
    "GetDurableExecution",
    "GetDurableExecutionHistory",
    "ListDurableExecutionsByFunction",
    "StopDurableExecution",
    "SendDurableExecutionCallbackSuccess",
    "SendDurableExecutionCallbackFailure",
    "SendDurableExecutionCallbackHeartbeat",
)
"""The operations `perdure serve` answers (the route table has one route for each)."""

MAX_JSON_DEPTH = 64
"""JSON documents (request bodies, an Invoke payload) nested deeper than this are refused.
The deepest modeled request is five levels; 64 leaves room for user payloads."""

MAX_ERRORS_SHOWN = 10
"""A refused request lists at most this many violations (and counts the rest)."""

_CONSTRAINTS = ("min", "max", "pattern", "enum", "sensitive")
_INT_BOUNDS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


# ------------------------------------------------------------------------ the schema


def generate_schema(service_model: Any) -> dict[str, Any]:
    """The input shapes of `OPERATIONS` in a botocore `ServiceModel`, as plain JSON data.

    Returns:
        {"operations": {operation: input shape name}, "shapes": {name: definition}}, where a
        definition keeps the shape's type, its constraints, and its members by shape name.
    """
    shapes: dict[str, dict[str, Any]] = {}

    def add(shape: Any) -> str:
        if shape.name in shapes:
            return str(shape.name)
        entry: dict[str, Any] = {"type": shape.type_name}
        shapes[shape.name] = entry
        entry.update({key: shape.metadata[key] for key in _CONSTRAINTS if key in shape.metadata})
        if shape.type_name == "structure":
            entry["members"] = {name: add(member) for name, member in shape.members.items()}
            if shape.required_members:
                entry["required"] = list(shape.required_members)
        elif shape.type_name == "list":
            entry["member"] = add(shape.member)
        elif shape.type_name == "map":
            entry["key"], entry["value"] = add(shape.key), add(shape.value)
        return str(shape.name)

    operations = {name: add(service_model.operation_model(name).input_shape) for name in OPERATIONS}
    return {"operations": operations, "shapes": dict(sorted(shapes.items()))}


def schema_text(schema: Mapping[str, Any]) -> str:
    """The file form of a schema (stable, so regenerating it changes nothing)."""
    return json.dumps(schema, indent=1, sort_keys=True) + "\n"


@dataclass(eq=False)
class Rule:
    """One model shape, compiled: what a value of it must be."""

    name: str
    type: str
    min: int | None = None
    max: int | None = None
    pattern: re.Pattern[str] | None = None
    enum: frozenset[str] | None = None
    sensitive: bool = False
    members: dict[str, Rule] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    member: Rule | None = None
    key: Rule | None = None
    value: Rule | None = None


def compile_schema(schema: Mapping[str, Any]) -> dict[str, Rule]:
    """Operation name -> the `Rule` of its input shape."""
    definitions: Mapping[str, Mapping[str, Any]] = schema["shapes"]
    rules: dict[str, Rule] = {}

    def rule(name: str) -> Rule:
        if name in rules:
            return rules[name]
        spec = definitions[name]
        pattern = spec.get("pattern")
        made = Rule(
            name=name,
            type=spec["type"],
            min=spec.get("min"),
            max=spec.get("max"),
            # AWS matches a member's pattern against the whole value; ASCII classes, as in Java.
            pattern=None if pattern is None else re.compile(f"(?:{pattern})", re.ASCII | re.DOTALL),
            enum=frozenset(spec["enum"]) if "enum" in spec else None,
            sensitive=bool(spec.get("sensitive", False)),
            required=tuple(spec.get("required", ())),
        )
        rules[name] = made  # before the members, so a recursive shape refers to itself
        made.members = {member: rule(shape) for member, shape in spec.get("members", {}).items()}
        made.member = rule(spec["member"]) if "member" in spec else None
        made.key = rule(spec["key"]) if "key" in spec else None
        made.value = rule(spec["value"]) if "value" in spec else None
        return made

    return {operation: rule(shape) for operation, shape in schema["operations"].items()}


# ------------------------------------------------------------------------ validation


class RequestValidator:
    """Checks requests against compiled model rules (see the module docstring).

    Args:
        rules: operation name -> its input `Rule` (`compile_schema`); by default the
            shipped schema file's.
    """

    def __init__(self, rules: Mapping[str, Rule] | None = None) -> None:
        self.rules = dict(rules if rules is not None else _shipped_rules())

    def check(self, operation: str, members: Mapping[str, Any]) -> None:
        """Refuse `members` if any breaks the model of `operation`'s input.

        Raises:
            InvalidParameterValueError: listing each violation with the member's path.
        """
        # Counted, not kept: a body of a million wrong items would otherwise hold a million
        # messages (about 180 bytes of memory per byte of body, past the server's budget).
        shown: list[str] = []
        total = 0
        for problem in _violations(self.rules[operation], members, ""):
            total += 1
            if len(shown) < MAX_ERRORS_SHOWN:
                shown.append(problem)
        if total:
            more = total - len(shown)
            count = f"{total} validation error{'s' if total > 1 else ''} detected: "
            raise InvalidParameterValueError(
                count + "; ".join(shown) + (f"; and {more} more" if more else "")
            )


@functools.cache
def _shipped_rules() -> dict[str, Rule]:
    return compile_schema(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def _violations(rule: Rule, value: Any, path: str) -> Iterator[str]:
    """Each way `value` (not None) breaks `rule`, as a message naming `path`."""
    kind = rule.type
    if kind == "structure":
        if not isinstance(value, dict):
            yield _problem(rule, value, path, "Member must be an object")
            return
        for name in rule.required:
            if value.get(name) is None:
                yield f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null"
        for name, member in rule.members.items():
            item = value.get(name)
            if item is not None:
                yield from _violations(member, item, _join(path, name))
    elif kind == "list":
        if not isinstance(value, list | tuple):
            yield _problem(rule, value, path, "Member must be a list")
            return
        yield from _bounds(rule, value, path, len(value), "length")
        assert rule.member is not None
        for index, item in enumerate(value):
            if item is None:
                yield f"Value null at '{path}[{index}]' failed to satisfy constraint: Member must not be null"
            else:
                yield from _violations(rule.member, item, f"{path}[{index}]")
    elif kind == "map":
        if not isinstance(value, dict):
            yield _problem(rule, value, path, "Member must be an object")
            return
        yield from _bounds(rule, value, path, len(value), "length")
        assert rule.key is not None and rule.value is not None
        for key, item in value.items():
            yield from _violations(rule.key, key, f"{path}.{key}")
            if item is not None:
                yield from _violations(rule.value, item, f"{path}.{key}")
    elif kind == "string":
        yield from _string(rule, value, path)
    elif kind in _INT_BOUNDS:
        if not isinstance(value, int) or isinstance(value, bool):
            yield _problem(rule, value, path, "Member must be an integer")
            return
        low, high = _INT_BOUNDS[kind]
        if not low <= value <= high:
            yield _problem(rule, value, path, f"Member must be between {low} and {high}")
        else:
            yield from _bounds(rule, value, path, value, "value")
    elif kind == "boolean":
        if not isinstance(value, bool):
            yield _problem(rule, value, path, "Member must be true or false")
    elif kind == "blob":
        size = _blob_size(value)
        if size is None:
            yield _problem(rule, value, path, "Member must be base64-encoded binary")
        else:
            yield from _bounds(rule, value, path, size, "length")
    elif kind in ("float", "double"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            yield _problem(rule, value, path, "Member must be a number")
    elif kind == "timestamp" and (not isinstance(value, str | int | float) or isinstance(value, bool)):
        # the codec reads the value itself (epoch seconds or ISO 8601)
        yield _problem(rule, value, path, "Member must be a timestamp")


def _string(rule: Rule, value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, str):
        yield _problem(rule, value, path, "Member must be a string")
        return
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            yield _problem(rule, value, path, "Member must be Unicode text (it holds a lone surrogate)")
            return
    length_problems = list(_bounds(rule, value, path, len(value), "length"))
    yield from length_problems
    if rule.enum is not None and value not in rule.enum:
        allowed = ", ".join(sorted(rule.enum))
        yield _problem(rule, value, path, f"Member must satisfy enum value set: [{allowed}]")
    # a pattern is tried only on a value of a sane length (the regex may backtrack)
    elif rule.pattern is not None and not length_problems and rule.pattern.fullmatch(value) is None:
        yield _problem(
            rule, value, path, f"Member must satisfy regular expression pattern: {rule.pattern.pattern[3:-1]}"
        )


def _bounds(rule: Rule, value: Any, path: str, measure: int, what: str) -> Iterator[str]:
    if rule.min is not None and measure < rule.min:
        yield _problem(rule, value, path, f"Member must have {what} greater than or equal to {rule.min}")
    if rule.max is not None and measure > rule.max:
        yield _problem(rule, value, path, f"Member must have {what} less than or equal to {rule.max}")


def _blob_size(value: Any) -> int | None:
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, str):  # a blob inside a JSON body travels base64-encoded
        try:
            return len(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            return None
    return None


def _problem(rule: Rule, value: Any, path: str, constraint: str) -> str:
    shown = "" if rule.sensitive else f" {_shown(value)}"
    return f"Value{shown} at '{path}' failed to satisfy constraint: {constraint}"


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "of type object"
    if isinstance(value, list | tuple):
        return "of type list"
    if isinstance(value, bytes | bytearray):
        return f"of {len(value)} bytes"
    if isinstance(value, str):
        text = json.dumps(value[:64])
        return f"'{text[1:-1]}{'...' if len(value) > 64 else ''}'"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return f"'{str(value)[:30]}...'"
    return f"'{json.dumps(value)}'"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# -------------------------------------------------------------------------- JSON text

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_TOO_DEEP_RUN = re.compile(rb"[\[{]{%d}" % (MAX_JSON_DEPTH + 1))


def parse_json(body: bytes, *, what: str = "request body") -> Any:
    """The JSON value of `body`: UTF-8, nested at most `MAX_JSON_DEPTH` levels, strict
    (no `NaN` or `Infinity`).

    Raises:
        InvalidRequestContentError: naming what is wrong with the text.
    """
    prefix = f"Could not parse {what} into json"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequestContentError(f"{prefix}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    depth = _nesting_bound(body)
    if depth > MAX_JSON_DEPTH:
        raise InvalidRequestContentError(
            f"{prefix}: nested deeper than {MAX_JSON_DEPTH} levels (or its brackets do not match)"
        )
    try:
        return json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError, an integer of over 4300 digits, NaN
        raise InvalidRequestContentError(f"{prefix}: {exc}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _nesting_bound(body: bytes) -> int:
    """An upper bound of the nesting depth `json.loads` would reach on `body` (UTF-8).

    Strings are removed (a bracket inside one does not nest), then each pass deletes every
    adjacent `[]` and `{}` pair, so a well-formed document of depth d is empty after at most
    d passes. Runs at C speed; stops after `MAX_JSON_DEPTH` passes. In UTF-8 the bytes of
    `"`, `\\` and brackets never occur inside a multi-byte character, so the scan is exact.
    """
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_A_BRACKET)
    passes = 0
    while brackets and passes <= MAX_JSON_DEPTH:
        if _TOO_DEEP_RUN.search(brackets):  # that many opening brackets in a row nest at least so deep
            return passes + MAX_JSON_DEPTH + 1
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if len(shorter) == len(brackets):
            # unmatched brackets: the parser may still descend through every opening one
            return passes + len(brackets)
        brackets = shorter
        passes += 1
    return passes + len(brackets)


def main() -> None:
    """Rewrite the schema file from the installed botocore model."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("lambda")
    SCHEMA_FILE.write_text(schema_text(generate_schema(model)), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")


if __name__ == "__main__":
    main()
