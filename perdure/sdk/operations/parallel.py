"""The parallel operation: run a list of branches concurrently and return a `BatchResult`.

Owns `parallel(context, functions, name, config)`, which `DurableContext.parallel`
delegates to. A branch is a callable taking the branch's `DurableContext`, or a
`ParallelBranch` (a callable with a name). Default branch names are
`parallel-branch-{index}`; the default completion is `all_successful()`. The parallel
never raises because branches failed: call `throw_if_error()` on its result.
The batch machinery is shared with map (`perdure.sdk.operations._batch`).

Imports only `perdure.wire`, `perdure.sdk` modules below the context, and the stdlib.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..batch import BatchResult, BatchType
from ..completion import ParallelBranch, ParallelConfig
from ..concurrency import Branch
from ..errors import ValidationError
from ._base import validate_name
from ._batch import run_batch

if TYPE_CHECKING:
    from ..context import DurableContext

T = TypeVar("T")

_DEFAULT_CONFIG = ParallelConfig()


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
        branches.append(Branch(index, body, name, custom))
    return branches


def parallel(
    context: DurableContext,
    functions: Sequence[Callable[[DurableContext], T] | ParallelBranch[T]],
    name: str | None = None,
    config: ParallelConfig | None = None,
) -> BatchResult[T]:
    """Run `functions` concurrently, each in its own child context.

    Args:
        context: the context the parallel belongs to.
        functions: the branches, in index order.
        name: the operation name (not derived from the functions).
        config: concurrency, completion policy, serdes, nesting type.

    Returns:
        One item per admitted branch, in index order, and the completion reason.

    Raises:
        ValidationError: invalid branches or config, before anything is checkpointed.
        NonDeterministicExecutionError: the recorded parallel disagrees with the code.
    """
    branches = parallel_branches(functions)
    result: BatchResult[T] = run_batch(context, BatchType.PARALLEL, name, branches, config or _DEFAULT_CONFIG)
    return result


__all__ = ["parallel", "parallel_branches"]
