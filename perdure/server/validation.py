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
The cost is linear in the body: a rule checks a whole column of values at once (every
update's `Id`, with the loops in C), and only a request with violations is walked value by
value, as far as its first `MAX_ERRORS_SHOWN` violations (benchmarks/validation.py
measures it against `json.loads`; docs/server.md states the bound).
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
import itertools
import json
import operator
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

_ONE_CLASS = re.compile(r"\[(?:[^\]\\]|\\.)+\]\+")
"""A pattern that is one character class, repeated: `[...]+`."""
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
    joinable: bool = False
    """The pattern is one character class repeated (`[a-z0-9-]+`) and the minimum length is
    at least 1: values match it each iff their concatenation does."""


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
            joinable=pattern is not None
            and _ONE_CLASS.fullmatch(pattern) is not None
            and spec.get("min", 0) >= 1,
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
        rule = self.rules[operation]
        # Counted, not kept: a body of a million wrong items would otherwise hold a million
        # messages (about 180 bytes of memory per byte of body, past the server's budget).
        total = _count(rule, [members])
        if total:
            shown = list(itertools.islice(_violations(rule, members, ""), MAX_ERRORS_SHOWN))
            more = total - len(shown)
            count = f"{total} validation error{'s' if total > 1 else ''} detected: "
            raise InvalidParameterValueError(
                count + "; ".join(shown) + (f"; and {more} more" if more else "")
            )


@functools.cache
def _shipped_rules() -> dict[str, Rule]:
    return compile_schema(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


# Counting: each rule checks a whole column of values at once (every `Id` of every update),
# with the loops in C (`map`, `set`, `min`, `str.join`); a Python loop over the values runs
# only when the column holds a violation, to count them exactly. Each value of the request
# is visited a fixed number of times, so the cost is linear in the body's size.

_not_none = functools.partial(operator.is_not, None)
_NONE = type(None)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _count(rule: Rule, values: list[Any], types: set[type] | None = None) -> int:
    """How many violations of `rule` `values` (none of them None) hold together.

    Args:
        types: the set of the values' types, when the caller has it.
    """
    return _COUNTERS.get(rule.type, _count_other)(rule, values, types) if values else 0


def _count_items(rule: Rule, items: list[Any]) -> int:
    """`_count` of a list's items, a None item being one violation."""
    if rule.type == "string":
        try:
            joined = "".join(items)  # a TypeError unless every item is a string
        except TypeError:
            pass
        else:
            return _count_string(rule, items, None, joined)
    types = set(map(type, items))
    if _NONE not in types:
        return _count(rule, items, types)
    if types == {_NONE}:
        return len(items)
    nones = items.count(None)
    return nones + _count(rule, list(filter(_not_none, items)))


def _only(
    values: list[Any], kind: type | tuple[type, ...], exact: type, types: set[type] | None
) -> tuple[list[Any], int]:
    """(the values of `kind`, not bool unless `exact` is, and how many others there are)."""
    types = types if types is not None else set(map(type, values))
    if types == {exact}:
        return values, 0
    if not any(issubclass(t, kind) and (exact is bool or not issubclass(t, bool)) for t in types):
        return [], len(values)
    kept = [v for v in values if isinstance(v, kind) and (exact is bool or not isinstance(v, bool))]
    return kept, len(values) - len(kept)


def _length_bounds(rule: Rule, sized: list[Any]) -> tuple[list[Any], int]:
    """(the values whose length is within the rule's bounds, how many are not)."""
    low, high = rule.min, rule.max
    if (low is None or min(map(len, sized)) >= low) and (high is None or max(map(len, sized)) <= high):
        return sized, 0
    kept = [v for v in sized if (low is None or len(v) >= low) and (high is None or len(v) <= high)]
    return kept, len(sized) - len(kept)


def _count_structure(rule: Rule, values: list[Any], types: set[type] | None) -> int:
    objects, problems = _only(values, dict, dict, types)
    if not objects:
        return problems
    present = set(itertools.chain.from_iterable(objects))
    for name in rule.required:
        if name not in present:
            problems += len(objects)
        elif name not in rule.members:  # (botocore's required members are all members)
            problems += list(map(dict.get, objects, itertools.repeat(name))).count(None)
    for name, member in rule.members.items():
        if name not in present:
            continue
        column = list(map(dict.get, objects, itertools.repeat(name)))
        nones = column.count(None)
        if nones:
            if name in rule.required:
                problems += nones
            column = list(filter(_not_none, column))
        problems += _count(member, column)
    return problems


def _count_list(rule: Rule, values: list[Any], types: set[type] | None) -> int:
    lists, problems = _only(values, (list, tuple), list, types)
    if not lists:
        return problems
    _, out_of_bounds = _length_bounds(rule, lists)
    assert rule.member is not None
    items = (
        lists[0] if len(lists) == 1 and type(lists[0]) is list else list(itertools.chain.from_iterable(lists))
    )
    return problems + out_of_bounds + _count_items(rule.member, items)


def _count_string(rule: Rule, values: list[Any], types: set[type] | None, joined: str | None = None) -> int:
    """Args: joined: the values' concatenation, when the caller made it."""
    if joined is None:
        strings, problems = _only(values, str, str, types)
        joined = "".join(strings)
    else:
        strings, problems = values, 0
    if not strings:
        return problems
    if not joined.isascii() and _SURROGATE.search(joined) is not None:
        text = [s for s in strings if s.isascii() or _SURROGATE.search(s) is None]
        problems += len(strings) - len(text)
        strings, joined = text, "".join(text)
        if not strings:
            return problems
    sane, out_of_bounds = _length_bounds(rule, strings)
    problems += out_of_bounds
    if rule.enum is not None:
        allowed = list(map(rule.enum.__contains__, strings))
        problems += allowed.count(False)
        if rule.pattern is None:
            return problems
        # as in `_string`: the pattern is tried only on a value in the enum, of a sane length
        sane = [s for s in sane if s in rule.enum]
    if rule.pattern is None or not sane:
        return problems
    if rule.joinable and rule.pattern.fullmatch(joined if sane is strings else "".join(sane)) is not None:
        return problems  # every value is non-empty, so the whole matches iff each one does
    failing = {s for s in set(sane) if rule.pattern.fullmatch(s) is None}
    return problems + (sum(map(failing.__contains__, sane)) if failing else 0)


def _count_integer(rule: Rule, values: list[Any], types: set[type] | None) -> int:
    numbers, problems = _only(values, int, int, types)
    if not numbers:
        return problems
    low, high = _INT_BOUNDS[rule.type]
    least = low if rule.min is None else max(low, rule.min)
    most = high if rule.max is None else min(high, rule.max)
    if min(numbers) >= least and max(numbers) <= most:
        return problems
    # as `_integer` reports them: outside the type's range, else below min, above max
    outside = [n for n in numbers if not low <= n <= high]
    inside = [n for n in numbers if low <= n <= high]
    below = sum(1 for n in inside if n < least)
    above = sum(1 for n in inside if n > most)
    return problems + len(outside) + below + above


def _count_other(rule: Rule, values: list[Any], types: set[type] | None) -> int:
    return sum(1 for value in values for _ in _violations(rule, value, ""))


def _count_map(rule: Rule, values: list[Any], types: set[type] | None) -> int:
    maps, problems = _only(values, dict, dict, types)
    if not maps:
        return problems
    _, out_of_bounds = _length_bounds(rule, maps)
    assert rule.key is not None and rule.value is not None
    keys = list(itertools.chain.from_iterable(maps))
    items = list(filter(_not_none, itertools.chain.from_iterable(map(dict.values, maps))))
    return problems + out_of_bounds + _count(rule.key, keys) + _count(rule.value, items)


def _count_boolean(rule: Rule, values: list[Any], types: set[type] | None) -> int:
    return _only(values, bool, bool, types)[1]


_COUNTERS = {
    "structure": _count_structure,
    "list": _count_list,
    "map": _count_map,
    "string": _count_string,
    "integer": _count_integer,
    "long": _count_integer,
    "boolean": _count_boolean,
}


# Explaining: the messages, in the order of the request, of the first violations found.
# Only what holds a violation is walked value by value; a list's clean stretches are
# skipped by counting ever larger slices of it, so finding each violation costs at most a
# few times the items before it.

_FIRST_SLICE = 16
_GROWTH = 8
"""A clean slice is followed by one an eighth longer: the slice that holds the next violation
is then about an eighth of the clean stretch before it, and halving it costs no more."""


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
        yield from _list_items(rule.member, value if type(value) is list else list(value), path)
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
        yield from _integer(rule, value, path)
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


def _list_items(member: Rule, items: list[Any], path: str) -> Iterator[str]:
    """The violations of a list's items, in order: clean slices, growing in length, are
    passed over by counting them; a slice that holds a violation is halved until the item."""
    start, size = 0, _FIRST_SLICE
    while start < len(items):
        end = min(len(items), start + size)
        if not _count_items(member, items[start:end]):
            start, size = end, size + size // _GROWTH
            continue
        while end - start > 1:  # the first violating item lies in [start, end)
            middle = (start + end) // 2
            if _count_items(member, items[start:middle]):
                end = middle
            else:
                start = middle
        item = items[start]
        if item is None:
            yield f"Value null at '{path}[{start}]' failed to satisfy constraint: Member must not be null"
        else:
            yield from _violations(member, item, f"{path}[{start}]")
        start, size = start + 1, _FIRST_SLICE


def _integer(rule: Rule, value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, int) or isinstance(value, bool):
        yield _problem(rule, value, path, "Member must be an integer")
        return
    low, high = _INT_BOUNDS[rule.type]
    if not low <= value <= high:
        yield _problem(rule, value, path, f"Member must be between {low} and {high}")
    else:
        yield from _bounds(rule, value, path, value, "value")


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
