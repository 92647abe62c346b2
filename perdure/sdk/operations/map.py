"""The map operation: run a function over every item concurrently and return a `BatchResult`.

Owns `map_branches(inputs, func, config)`, the declared iterations both faces' `map` run
as a `BatchRun`. `func(context, item, index, items)` runs once per item, each in its own
child context named `map-item-{index}` or `config.item_namer(item, index)` (called for
every item before anything is checkpointed, on every run). The default completion fails
fast (`CompletionConfig()`); the map never raises because items failed: call
`throw_if_error()` on its result. The batch machinery is shared with parallel
(`perdure.sdk.operations._batch`).

Imports only `perdure.wire`, `perdure.sdk` modules below the context, and the stdlib.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..completion import MapConfig
from ..concurrency import Branch
from ..errors import ValidationError
from ..serdes import result_type
from ._base import validate_name

T = TypeVar("T")
R = TypeVar("R")

MapFunction = Callable[[Any, T, int, Sequence[T]], R]
"""`func(context, item, index, items)`: one map iteration (the context is either face's)."""

DEFAULT_MAP_CONFIG: MapConfig[Any] = MapConfig()


def _bind(
    func: Callable[[Any, T, int, Sequence[T]], R], item: T, index: int, items: Sequence[T]
) -> Callable[[Any], R]:
    def iteration(context: Any) -> R:
        return func(context, item, index, items)

    return iteration


def map_branches(
    inputs: Sequence[T], func: Callable[[Any, T, int, Sequence[T]], Any], config: MapConfig[T]
) -> list[Branch]:
    """The declared iterations of a map, validated and named.

    Raises:
        ValidationError: `func` is not callable, `inputs` is not a sequence, or the item
            namer raised or returned something other than a string (naming the index).
    """
    if not callable(func):
        raise ValidationError(f"map function must be callable, got {type(func).__name__}")
    if isinstance(inputs, str | bytes) or not isinstance(inputs, Sequence):
        raise ValidationError(f"map expects a sequence of inputs, got {type(inputs).__name__}")
    namer = config.item_namer
    declared = result_type(func)
    branches: list[Branch] = []
    for index, item in enumerate(inputs):
        custom: str | None = None
        if namer is not None:
            try:
                custom = namer(item, index)
            except Exception as exc:
                raise ValidationError(
                    f"item_namer raised for map item {index}: {type(exc).__name__}: {exc}"
                ) from exc
            if not isinstance(custom, str):
                raise ValidationError(
                    f"item_namer must return a string, got {type(custom).__name__} for map item {index}"
                )
            validate_name(f"map item {index} name", custom)
        name = custom if custom is not None else f"map-item-{index}"
        branches.append(Branch(index, _bind(func, item, index, inputs), name, custom, declared))
    return branches


__all__ = ["DEFAULT_MAP_CONFIG", "MapFunction", "map_branches"]
