"""The parallel operation: run a list of branches concurrently and return a `BatchResult`.

Owns `parallel_branches(functions)`, the declared branches both faces' `parallel` run
as a `BatchRun`. A branch is a callable taking the branch's `DurableContext`, or a
`ParallelBranch` (a callable with a name). Default branch names are
`parallel-branch-{index}`; the default completion is `all_successful()`. The parallel
never raises because branches failed: call `throw_if_error()` on its result.
The batch machinery is shared with map (`perdure.sdk.operations._batch`).

Imports only `perdure.wire`, `perdure.sdk` modules below the context, and the stdlib.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..completion import ParallelBranch, ParallelConfig
from ..concurrency import Branch
from ..errors import ValidationError
from ..serdes import result_type
from ._base import validate_name

T = TypeVar("T")

DEFAULT_PARALLEL_CONFIG = ParallelConfig()


def parallel_branches(functions: Sequence[Callable[[Any], Any] | ParallelBranch[Any]]) -> list[Branch]:
    """The declared branches of a parallel, validated.

    Raises:
        ValidationError: a branch (or a `ParallelBranch.func`) is not callable, or its
            name is too long; the message names the index.
    """
    if isinstance(functions, str | bytes) or not isinstance(functions, Sequence):
        raise ValidationError(f"parallel expects a sequence of branches, got {type(functions).__name__}")
    branches: list[Branch] = []
    for index, function in enumerate(functions):
        custom: str | None = None
        body: Any = function
        if isinstance(function, ParallelBranch):
            body, custom = function.func, function.name
        if not callable(body):
            raise ValidationError(
                f"parallel branch {index} must be callable (a function of the branch's "
                f"DurableContext or a ParallelBranch), got {type(body).__name__}"
            )
        if custom is not None and not isinstance(custom, str):
            raise ValidationError(
                f"parallel branch {index} name must be a string, got {type(custom).__name__}"
            )
        validate_name(f"parallel branch {index} name", custom)
        name = custom if custom is not None else f"parallel-branch-{index}"
        branches.append(Branch(index, body, name, custom, result_type(body)))
    return branches


__all__ = ["DEFAULT_PARALLEL_CONFIG", "parallel_branches"]
