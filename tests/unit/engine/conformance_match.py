"""A small re-implementation of the conformance history matcher (the conformance suite's rules):
expected events are matched by EventId, expected keys must exist, `'*'`/`{}` accept
anything, `${NAME}` binds on first sight and must agree afterwards."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from perdure.wire.codec import to_wire
from perdure.wire.types import Event

REQUIREMENTS = Path(__file__).resolve().parents[2] / "conformance" / "requirements"
_PLACEHOLDER = re.compile(r"^\$\{(.+)\}$")


def load(suite: str, req_id: str) -> dict[str, Any]:
    data = yaml.safe_load((REQUIREMENTS / suite / f"{req_id}.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _match(expected: Any, actual: Any, bound: dict[str, Any], path: str) -> None:
    if expected == {} or expected == "*":
        return
    if isinstance(expected, str):
        m = _PLACEHOLDER.match(expected)
        if m:
            name = m.group(1)
            if name.startswith("/") and name.endswith("/"):
                assert re.search(name[1:-1], str(actual)), f"{path}: {actual!r} !~ {name}"
            elif name in bound:
                assert bound[name] == actual, f"{path}: {actual!r} != bound {name}={bound[name]!r}"
            else:
                bound[name] = actual
            return
        expected = re.sub(
            r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda g: str(bound.get(g.group(1), g.group(0))), expected
        )
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key}: key missing in actual event {actual}"
            _match(value, actual[key], bound, f"{path}.{key}")
        return
    if isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _match(e, a, bound, f"{path}[{i}]")
        return
    assert expected == actual, f"{path}: expected {expected!r}, got {actual!r}"


def assert_history(
    events: list[Event], expected: list[dict[str, Any]], bound: dict[str, Any] | None = None
) -> None:
    actual = {e.event_id: to_wire(e) for e in events}
    bound = {} if bound is None else bound
    for exp in expected:
        event_id = exp["EventId"]
        assert event_id in actual, f"no actual event with EventId={event_id}"
        _match(exp, actual[event_id], bound, f"EventId={event_id}")
