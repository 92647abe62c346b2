"""The history matcher: expected events against `GetDurableExecutionHistory` events.

A re-implementation of the reference runner's rules, quirks kept:
events are matched by `EventId` (unlisted actual events are ignored, listed ones must sit
at exactly that id); every expected key must exist in the actual event even when its value
is `'*'` or `{}`; `${/re/}` is tried before `${NAME}`; a whole-string `${NAME}` binds or
checks; lists must have equal length; everything else is compared literally after
substituting bound names into expected strings (so payloads compare as strings).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .placeholders import Placeholders, placeholder_name, regex_of


def match_value(expected: Any, actual: Any, path: str, ctx: Placeholders, errors: list[str]) -> None:
    """Compare one expected value with the actual one; append mismatches to `errors`."""
    if isinstance(expected, dict) and not expected:
        return
    if expected == "*":
        return
    pattern = regex_of(expected)
    if pattern is not None:
        if re.search(pattern, str(actual)) is None:
            errors.append(f"{path}: {actual!r} does not match /{pattern}/")
        return
    name = placeholder_name(expected)
    if name is not None:
        problem = ctx.bind_or_check(name, actual)
        if problem is not None:
            errors.append(f"{path}: {problem}")
        return
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, sub in expected.items():
            if key not in actual:
                errors.append(f"{path}.{key}: key missing in actual event")
            else:
                match_value(sub, actual[key], f"{path}.{key}", ctx, errors)
        return
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            errors.append(f"{path}: expected {len(expected)} items, actual {len(actual)}")
            return
        for index, (exp, act) in enumerate(zip(expected, actual, strict=True)):
            match_value(exp, act, f"{path}[{index}]", ctx, errors)
        return
    literal = ctx.substitute_text(expected) if isinstance(expected, str) else expected
    if literal != actual:
        errors.append(f"{path}: expected {literal!r}, actual {actual!r}")


def match_history(
    expected: Sequence[Mapping[str, Any]], actual: Iterable[Mapping[str, Any]], ctx: Placeholders
) -> list[str]:
    """Every mismatch between the expected events and the actual history, in YAML order."""
    by_id: dict[int, Mapping[str, Any]] = {}
    for event in actual:
        event_id = event.get("EventId")
        if event_id is not None:
            by_id[int(event_id)] = event
    errors: list[str] = []
    for exp in expected:
        raw_id = exp.get("EventId")
        if raw_id is None:
            errors.append(f"expected event without EventId: {dict(exp)!r}")
            continue
        act = by_id.get(int(raw_id))
        if act is None:
            errors.append(f"No actual event found for EventId={raw_id}")
            continue
        before = len(errors)
        match_value(dict(exp), dict(act), f"Event[{raw_id}]", ctx, errors)
        if len(errors) > before:
            errors[before] = f"{errors[before]} (actual event: {_short(act)})"
    return errors


def _short(event: Mapping[str, Any]) -> str:
    keys = ("EventType", "Id", "Name", "SubType", "ParentId")
    head = " ".join(f"{k}={event[k]}" for k in keys if k in event)
    details = {k: v for k, v in event.items() if k.endswith("Details")}
    text = f"{head} {details}"
    return text if len(text) <= 400 else text[:400] + "..."
