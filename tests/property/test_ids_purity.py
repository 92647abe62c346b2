"""Property: operation-id derivation is pure, well-formed and collision-free in practice."""

from __future__ import annotations

import re
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from perdure.sdk.ids import operation_id

ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
prefixes = st.none() | st.from_regex(r"[0-9a-f]{64}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(prefixes, st.integers(min_value=0, max_value=10**6))
def test_pure_and_well_formed(prefix: str | None, position: int) -> None:
    first = operation_id(prefix, position)
    assert first == operation_id(prefix, position)
    assert ID.fullmatch(first) and len(first) == 64


@settings(max_examples=100, deadline=None)
@given(prefixes, st.integers(min_value=1, max_value=10**6))
def test_neighbours_and_namespaces_differ(prefix: str | None, position: int) -> None:
    assert operation_id(prefix, position) != operation_id(prefix, position + 1)
    assert operation_id(prefix, position) != operation_id(operation_id(prefix, position), position)


def test_stable_across_processes() -> None:
    code = "from perdure.sdk.ids import operation_id; print(operation_id(None, 1), operation_id('abc', 7))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [operation_id(None, 1), operation_id("abc", 7)]
