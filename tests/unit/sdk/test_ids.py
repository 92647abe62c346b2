"""perdure.sdk.ids: the official deterministic id scheme."""

from __future__ import annotations

import re
from hashlib import blake2b

from perdure.sdk.ids import operation_id


def test_root_matches_official_scheme() -> None:
    assert operation_id(None, 1).startswith("1ced8f5be2db")
    assert operation_id("", 1) == operation_id(None, 1)


def test_nested_ids_use_the_prefix() -> None:
    parent = operation_id(None, 1)
    assert operation_id(parent, 2) == blake2b(f"{parent}-2".encode()).hexdigest()[:64]


def test_shape() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", operation_id("x", 3))
