"""The result and log checks of a requirement.

`check_result` compares `GetDurableExecution`'s status and decoded result with
`ExpectedResult`. `check_logs` evaluates `ExpectedLogs` entries (`match`, `count`,
`min_count`, `max_count`, `after`, `before`) over the captured log records of the
execution, each record a dict with at least a `message` field and an optional
`timestamp` used for ordering (the record's position otherwise).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .placeholders import Placeholders


def decode_result(raw: str | None) -> Any:
    """The runner's decoding: `json.loads` once, the raw string when that fails."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def check_result(
    expected: Mapping[str, Any], status: str, result: str | None, ctx: Placeholders
) -> str | None:
    """The first mismatch with `ExpectedResult`, or None."""
    want_status = expected.get("ExecutionStatus")
    if want_status is not None and status != want_status:
        return f"ExpectedResult: status {status}, expected {want_status}"
    if status != "SUCCEEDED" or "Result" not in expected:
        return None
    want = ctx.substitute(expected["Result"])
    got = decode_result(result)
    if got != want:
        return f"ExpectedResult: result {got!r}, expected {want!r}"
    return None


# --------------------------------------------------------------------------- logs


def _field_matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and expected is actual
    if isinstance(expected, int | float):
        if isinstance(actual, int | float):
            return float(expected) == float(actual)
        try:
            return float(expected) == float(str(actual))
        except ValueError:
            return False
    if isinstance(expected, str):
        text = expected.strip()
        if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
            return actual is not None and re.search(text[1:-1], str(actual)) is not None
        return actual is not None and str(actual).strip() == text
    return bool(expected == actual)


def record_matches(match: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """True when every field of `match` matches the record (AND)."""
    return all(key in record and _field_matches(want, record[key]) for key, want in match.items())


def _positions(match: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> list[float]:
    return [
        float(record.get("timestamp", index))
        for index, record in enumerate(records)
        if record_matches(match, record)
    ]


def check_logs(
    expected_logs: Sequence[Mapping[str, Any]], records: Sequence[Mapping[str, Any]], ctx: Placeholders
) -> str | None:
    """The first failing `ExpectedLogs` entry, or None."""
    for number, raw_entry in enumerate(expected_logs, start=1):
        entry = ctx.substitute(dict(raw_entry))
        match = entry.get("match") or {}
        hits = _positions(match, records)
        label = f"ExpectedLogs[{number}] {match!r}"
        if "count" in entry and len(hits) != int(entry["count"]):
            return f"{label}: {len(hits)} matching records, expected {entry['count']}"
        if "min_count" in entry and len(hits) < int(entry["min_count"]):
            return f"{label}: {len(hits)} matching records, expected at least {entry['min_count']}"
        if "max_count" in entry and len(hits) > int(entry["max_count"]):
            return f"{label}: {len(hits)} matching records, expected at most {entry['max_count']}"
        if not any(k in entry for k in ("count", "min_count", "max_count")) and not hits:
            return f"{label}: no matching record"
        for relation in ("after", "before"):
            anchors = entry.get(relation)
            if anchors is None:
                continue
            for anchor_match in anchors if isinstance(anchors, list) else [anchors]:
                problem = _check_order(label, relation, anchor_match or {}, hits, records)
                if problem is not None:
                    return problem
    return None


def _check_order(
    label: str,
    relation: str,
    anchor_match: Mapping[str, Any],
    hits: list[float],
    records: Sequence[Mapping[str, Any]],
) -> str | None:
    anchor = _positions(anchor_match, records)
    if not anchor:
        return f"{label}: the {relation!r} anchor {dict(anchor_match)!r} matches no record"
    if relation == "after" and hits and min(hits) < max(anchor):
        return f"{label}: a match comes before the anchor {dict(anchor_match)!r}"
    if relation == "before" and hits and max(hits) > min(anchor):
        return f"{label}: a match comes after the anchor {dict(anchor_match)!r}"
    return None
