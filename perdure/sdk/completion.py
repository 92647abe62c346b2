"""When a map or parallel batch is complete: configuration and the pure completion policy.

Owns the user-facing batch configuration (`CompletionConfig` and its presets, the custom
completion types, `ParallelConfig`, `MapConfig`, `ParallelBranch`, `NestingType`), the
two status enums every batch speaks (`BatchItemStatus`, `CompletionReason`), and the
completion policy the concurrency executor consults: `CompletionPolicy` (stateless
verdicts from counts) and `CompletionTracker` (per-item statuses, O(1) updates).

Nothing here runs a branch or touches a checkpoint. The policy assumes what the official
SDK 3.0 assumes and documents: branches are admitted in index order, a branch's status
only moves forward (not started -> STARTED -> SUCCEEDED | FAILED), and a custom
`should_complete` predicate is deterministic, side-effect free and monotonic (more
progress never turns "complete" back into "continue"). Under those assumptions the
verdict "done" is monotonic too: adding terminal items never un-completes a batch.

Imports only `perdure.sdk.errors`, `perdure.wire` and the standard library; `batch.py`
builds on this module, never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar

from perdure.sdk.errors import InvalidStateError, ValidationError
from perdure.wire.fast_init import value_type

if TYPE_CHECKING:
    from perdure.sdk.serdes import SerDes

T = TypeVar("T")
P = ParamSpec("P")

SummaryGenerator = Callable[[Any], str]
"""`(BatchResult) -> str`: a user summary stored under the batch envelope's `summary` key."""


class BatchItemStatus(StrEnum):
    """The status of one branch or item of a map/parallel batch."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STARTED = "STARTED"
    """Admitted but not terminal when the batch completed (running or suspended)."""


class CompletionReason(StrEnum):
    """Why a batch completed."""

    ALL_COMPLETED = "ALL_COMPLETED"
    MIN_SUCCESSFUL_REACHED = "MIN_SUCCESSFUL_REACHED"
    FAILURE_TOLERANCE_EXCEEDED = "FAILURE_TOLERANCE_EXCEEDED"
    CUSTOM_COMPLETION_SUCCEEDED = "CUSTOM_COMPLETION_SUCCEEDED"
    CUSTOM_COMPLETION_FAILED = "CUSTOM_COMPLETION_FAILED"


class CompletionOutcome(StrEnum):
    """Whether a custom completion decision ends the batch as a success or a failure."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class NestingType(StrEnum):
    """How branches of a map/parallel are represented in the checkpoint log."""

    NESTED = "NESTED"
    """Each branch is its own CONTEXT operation (full history, more operations)."""
    FLAT = "FLAT"
    """Branches are virtual contexts: no per-branch CONTEXT operation; their inner
    operations are parented to the batch operation."""


# ------------------------------------------------------------------ custom completion


@value_type
class CompletionDecision:
    """What a `should_complete` predicate returns; build it with `continue_batch()` or
    `complete_batch(outcome)`.

    Attributes:
        complete: Whether to complete the batch now.
        outcome: Success or failure of the completed batch; None when not complete.
    """

    complete: bool
    outcome: CompletionOutcome | None = None

    def __post_init__(self) -> None:
        if self.complete and self.outcome is None:
            raise ValidationError("outcome is required when complete is True")
        if not self.complete and self.outcome is not None:
            raise ValidationError("outcome must be None when complete is False")


def continue_batch() -> CompletionDecision:
    """Keep the batch running."""
    return CompletionDecision(complete=False)


def complete_batch(outcome: CompletionOutcome = CompletionOutcome.SUCCEEDED) -> CompletionDecision:
    """Complete the batch now.

    Args:
        outcome: SUCCEEDED (reason CUSTOM_COMPLETION_SUCCEEDED) or FAILED (reason
            CUSTOM_COMPLETION_FAILED; `throw_if_error()` then raises even with no failed item).

    Returns:
        The decision.
    """
    return CompletionDecision(complete=True, outcome=outcome)


@value_type
class CompletionItemStatus:
    """One branch as a custom predicate sees it.

    Attributes:
        index: The branch/item index.
        name: The branch's custom name (`ParallelBranch.name`, `item_namer`), else None.
        status: None while not yet admitted, STARTED while running or suspended, then
            SUCCEEDED or FAILED.
    """

    index: int
    name: str | None = None
    status: BatchItemStatus | None = None


@value_type
class CompletionStatus:
    """The progress snapshot passed to `CompletionConfig.should_complete`.

    Attributes:
        success_count: Branches that succeeded.
        failure_count: Branches that failed.
        completed_count: success_count + failure_count.
        total_count: Branches declared in the batch.
        items: One entry per declared branch, `items[i].index == i`.
    """

    success_count: int
    failure_count: int
    completed_count: int
    total_count: int
    items: tuple[CompletionItemStatus, ...] = ()


# ------------------------------------------------------------------- CompletionConfig


@value_type(slots=False)
class CompletionConfig:
    """When a map/parallel batch completes.

    The batch completes when the custom predicate says so, when every branch is
    terminal, when `min_successful` branches succeeded, or when failures exceed the
    tolerance. With no field set at all, the first failure exceeds the tolerance
    (fail fast). Neither map nor parallel raises because of a failure: they return a
    `BatchResult` and `throw_if_error()` raises.

    Attributes:
        min_successful: Complete once this many branches succeeded (>= 1).
        tolerated_failure_count: Failures allowed; one more exceeds the tolerance (>= 0).
        tolerated_failure_percentage: Failures allowed as a percentage (0..100) of the
            declared branch count; strictly more exceeds the tolerance.
        should_complete: A custom predicate `(CompletionStatus) -> CompletionDecision`.
            It cannot be combined with the thresholds and disables the tolerance check.
            It is evaluated once before any branch starts (completed_count 0) and after
            every change of a branch's status; it must be deterministic, side-effect
            free and monotonic (a resumed batch may show it an intermediate subset of
            the progress it saw before). A batch found completed on replay returns its
            recorded outcome without calling it.
    """

    min_successful: int | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: int | float | None = None
    should_complete: Callable[[CompletionStatus], CompletionDecision] | None = None

    def __post_init__(self) -> None:
        if self.min_successful is not None and self.min_successful < 1:
            raise ValidationError(f"min_successful must be at least 1, got: {self.min_successful}")
        if self.tolerated_failure_count is not None and self.tolerated_failure_count < 0:
            raise ValidationError(
                f"tolerated_failure_count must be non-negative, got: {self.tolerated_failure_count}"
            )
        pct = self.tolerated_failure_percentage
        if pct is not None and not 0 <= pct <= 100:  # also rejects NaN
            raise ValidationError(f"tolerated_failure_percentage must be between 0 and 100, got: {pct}")
        if self.should_complete is not None:
            if not callable(self.should_complete):
                raise ValidationError("should_complete must be callable")
            if self.has_thresholds:
                raise ValidationError(
                    "should_complete cannot be combined with min_successful, "
                    "tolerated_failure_count, or tolerated_failure_percentage"
                )

    @property
    def has_thresholds(self) -> bool:
        """True when any of the three threshold fields is set."""
        return (
            self.min_successful is not None
            or self.tolerated_failure_count is not None
            or self.tolerated_failure_percentage is not None
        )

    def validate_for_total(self, total: int) -> None:
        """Check this config against the number of declared branches.

        map and parallel call this before anything is checkpointed, so the error is a
        bare `ValidationError` with no operation in the history.

        Raises:
            ValidationError: `min_successful` is greater than `total`.
        """
        if self.min_successful is not None and self.min_successful > total:
            raise ValidationError(
                f"min_successful cannot be greater than total items: {self.min_successful} > {total}"
            )

    @staticmethod
    def first_successful() -> CompletionConfig:
        """Complete at the first success (`min_successful=1`); failures never stop the batch."""
        return CompletionConfig(min_successful=1)

    @staticmethod
    def all_completed() -> CompletionConfig:
        """Run every branch whatever fails (`tolerated_failure_percentage=100`)."""
        return CompletionConfig(tolerated_failure_percentage=100)

    @staticmethod
    def all_successful() -> CompletionConfig:
        """Stop at the first failure (`tolerated_failure_count=0`, percentage 0)."""
        return CompletionConfig(tolerated_failure_count=0, tolerated_failure_percentage=0)


# ---------------------------------------------------------------- the completion policy


@value_type
class CompletionCheck:
    """One verdict of the completion policy.

    Attributes:
        is_done: Stop admitting branches and finish the batch now.
        reason: The completion reason if the batch finished now (meaningful when done).
        decision: The custom predicate's decision for this snapshot, if there is one.
    """

    is_done: bool
    reason: CompletionReason
    decision: CompletionDecision | None = None


@value_type(slots=False)
class CompletionPolicy:
    """The completion rules for a batch of `total` declared branches (stateless).

    The verdict, in the official SDK 3.0's order: the batch is done when the predicate
    decides to complete, or every branch is terminal, or `min_successful` is reached,
    or the failure tolerance is exceeded. The reason is the first that holds of:
    tolerance exceeded, custom decision, all completed, min successful; else
    ALL_COMPLETED.
    """

    total: int
    min_successful: int | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: int | float | None = None
    should_complete: Callable[[CompletionStatus], CompletionDecision] | None = None

    @classmethod
    def from_config(cls, total: int, config: CompletionConfig | None) -> CompletionPolicy:
        """The policy of `config` (None = fail fast) over `total` declared branches."""
        if config is None:
            return cls(total=total)
        return cls(
            total=total,
            min_successful=config.min_successful,
            tolerated_failure_count=config.tolerated_failure_count,
            tolerated_failure_percentage=config.tolerated_failure_percentage,
            should_complete=config.should_complete,
        )

    @property
    def has_criteria(self) -> bool:
        """True when any threshold is set (with none, one failure exceeds the tolerance)."""
        return (
            self.min_successful is not None
            or self.tolerated_failure_count is not None
            or self.tolerated_failure_percentage is not None
        )

    def is_tolerance_exceeded(self, failed: int) -> bool:
        """Whether `failed` failures exceed the tolerance (never, with a custom predicate).

        Both thresholds are strict: `tolerated_failure_count=1` tolerates one failure;
        the percentage is taken of the declared total.
        """
        if self.should_complete is not None:
            return False
        if not self.has_criteria:
            return failed > 0
        if self.tolerated_failure_count is not None and failed > self.tolerated_failure_count:
            return True
        if self.tolerated_failure_percentage is not None and self.total > 0:
            # Exact arithmetic: in floats 7 of 25 is 28.000000000000004% (> 28). A float's
            # ratio is its exact value; integers cost no import (this runs for every branch).
            numerator, denominator = self.tolerated_failure_percentage.as_integer_ratio()
            return failed * 100 * denominator > numerator * self.total
        return False

    def should_continue(self, failed: int) -> bool:
        """Whether more branches may be admitted as far as failures are concerned."""
        return not self.is_tolerance_exceeded(failed)

    def evaluate(
        self, succeeded: int, failed: int, items: tuple[CompletionItemStatus, ...] = ()
    ) -> CompletionDecision | None:
        """Run the custom predicate once on this snapshot (None when there is none)."""
        if self.should_complete is None:
            return None
        status = CompletionStatus(succeeded, failed, succeeded + failed, self.total, items)
        return self.should_complete(status)

    def is_complete(
        self,
        succeeded: int,
        failed: int,
        items: tuple[CompletionItemStatus, ...] = (),
        decision: CompletionDecision | None = None,
    ) -> bool:
        """Whether a completion criterion holds (the tolerance is checked separately).

        `decision` is the result of `evaluate` for the same snapshot; passing it keeps
        the predicate to one call per change.
        """
        if self.should_complete is not None:
            if decision is None:
                decision = self.evaluate(succeeded, failed, items)
            if decision is not None and decision.complete:
                return True
        if succeeded + failed >= self.total:
            return True
        return self.min_successful is not None and succeeded >= self.min_successful

    def reason(
        self,
        succeeded: int,
        failed: int,
        items: tuple[CompletionItemStatus, ...] = (),
        decision: CompletionDecision | None = None,
    ) -> CompletionReason:
        """The completion reason of a batch that ends on this snapshot."""
        if self.is_tolerance_exceeded(failed):
            return CompletionReason.FAILURE_TOLERANCE_EXCEEDED
        if self.should_complete is not None:
            if decision is None:
                decision = self.evaluate(succeeded, failed, items)
            if decision is not None and decision.complete:
                if decision.outcome is CompletionOutcome.FAILED:
                    return CompletionReason.CUSTOM_COMPLETION_FAILED
                return CompletionReason.CUSTOM_COMPLETION_SUCCEEDED
        if succeeded + failed >= self.total:
            return CompletionReason.ALL_COMPLETED
        if self.min_successful is not None and succeeded >= self.min_successful:
            return CompletionReason.MIN_SUCCESSFUL_REACHED
        return CompletionReason.ALL_COMPLETED

    def check(
        self, succeeded: int, failed: int, items: tuple[CompletionItemStatus, ...] = ()
    ) -> CompletionCheck:
        """The full verdict for one snapshot, calling the predicate at most once."""
        decision = self.evaluate(succeeded, failed, items)
        done = self.is_complete(succeeded, failed, items, decision) or self.is_tolerance_exceeded(failed)
        return CompletionCheck(done, self.reason(succeeded, failed, items, decision), decision)


_FORWARD: dict[BatchItemStatus | None, frozenset[BatchItemStatus]] = {
    None: frozenset(BatchItemStatus),
    BatchItemStatus.STARTED: frozenset({BatchItemStatus.SUCCEEDED, BatchItemStatus.FAILED}),
    BatchItemStatus.SUCCEEDED: frozenset(),
    BatchItemStatus.FAILED: frozenset(),
}


class CompletionTracker:
    """Per-branch statuses of one running batch and the policy's verdict over them.

    Owned by the executor's coordinator (one thread); it is not locked. `mark` is O(1);
    `check` is O(1) without a predicate and O(total) with one (the predicate gets the
    full items snapshot), and is memoised until the next `mark`, so the predicate runs
    once per change. The first `check` (before any `mark`) is the predicate's
    evaluation before any branch starts.
    """

    def __init__(self, policy: CompletionPolicy, names: Sequence[str | None] | None = None) -> None:
        """Track `policy.total` branches; `names` are their custom names (or None)."""
        if names is not None and len(names) != policy.total:
            raise ValidationError(f"expected {policy.total} names, got {len(names)}")
        self.policy = policy
        self._names: tuple[str | None, ...] = tuple(names) if names is not None else (None,) * policy.total
        self._statuses: list[BatchItemStatus | None] = [None] * policy.total
        self._counts: dict[BatchItemStatus, int] = dict.fromkeys(BatchItemStatus, 0)
        self._last: CompletionCheck | None = None

    @property
    def statuses(self) -> tuple[BatchItemStatus | None, ...]:
        """The status of every declared branch (None = not admitted)."""
        return tuple(self._statuses)

    @property
    def succeeded(self) -> int:
        return self._counts[BatchItemStatus.SUCCEEDED]

    @property
    def failed(self) -> int:
        return self._counts[BatchItemStatus.FAILED]

    @property
    def started(self) -> int:
        """Branches admitted and not yet terminal."""
        return self._counts[BatchItemStatus.STARTED]

    def mark(self, index: int, status: BatchItemStatus) -> None:
        """Record that branch `index` moved to `status` (statuses only move forward).

        Marking a branch with its current status is a no-op.

        Raises:
            InvalidStateError: the move goes backwards (e.g. SUCCEEDED -> STARTED).
        """
        current = self._statuses[index]
        if current is status:
            return
        if status not in _FORWARD[current]:
            raise InvalidStateError(f"branch {index} cannot move from {current} to {status}")
        if current is not None:
            self._counts[current] -= 1
        self._counts[status] += 1
        self._statuses[index] = status
        self._last = None

    def items(self) -> tuple[CompletionItemStatus, ...]:
        """The predicate's snapshot: one `CompletionItemStatus` per declared branch."""
        return tuple(
            CompletionItemStatus(i, name, status)
            for i, (name, status) in enumerate(zip(self._names, self._statuses, strict=True))
        )

    def check(self) -> CompletionCheck:
        """The verdict for the current statuses."""
        if self._last is None:
            items = self.items() if self.policy.should_complete is not None else ()
            self._last = self.policy.check(self.succeeded, self.failed, items)
        return self._last

    def may_admit(self) -> bool:
        """Whether the next pending branch may be admitted now."""
        return not self.check().is_done


# ------------------------------------------------------------------ parallel and map


@value_type(slots=False)
class ParallelBranch(Generic[T]):
    """A parallel branch with a name for the history (else `parallel-branch-{index}`).

    Attributes:
        func: The branch body, called with the branch's `DurableContext`.
        name: The branch operation's name; observability only, not identity.
    """

    func: Callable[..., T]
    name: str | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> T:
        """Run the branch body."""
        return self.func(*args, **kwargs)


def durable_parallel_branch(
    name: str | None = None,
) -> Callable[[Callable[Concatenate[Any, P], T]], Callable[P, ParallelBranch[T]]]:
    """Decorator factory: `@durable_parallel_branch(name=...)` on `f(ctx, *args)`.

    Calling the decorated function with `*args` returns a `ParallelBranch` whose body
    is `f(ctx, *args)`. Without a name the branch is named `parallel-branch-{index}`.

    Args:
        name: The branch name.

    Returns:
        The decorator.
    """

    def decorator(func: Callable[Concatenate[Any, P], T]) -> Callable[P, ParallelBranch[T]]:
        def bind(*args: P.args, **kwargs: P.kwargs) -> ParallelBranch[T]:
            def body(ctx: Any) -> T:
                return func(ctx, *args, **kwargs)

            return ParallelBranch(func=body, name=name)

        return bind

    return decorator


def _check_max_concurrency(value: int | None) -> None:
    if value is not None and value < 1:
        raise ValidationError(f"max_concurrency must be at least 1, got: {value}")


@value_type(slots=False)
class ParallelConfig:
    """Options of `DurableContext.parallel`.

    Attributes:
        max_concurrency: Branches in flight at once, suspended ones included; None =
            all of them. Below 1 is a `ValidationError`.
        completion_config: When the batch completes; default `all_successful()`.
        serdes: Serializes the whole `BatchResult` in the parallel's checkpoint, never
            the branches' results (conformance 9-19; the official SDK 3.0 falls back to
            it for them).
        item_serdes: Serializes each branch's result in its own checkpoint; None = the
            default (extended-type) serdes, not `serdes`.
        summary_generator: `(BatchResult) -> str`, stored under `summary` when the
            result is too large to checkpoint (over 256 KiB).
        nesting_type: NESTED (a CONTEXT operation per branch, default) or FLAT.
    """

    max_concurrency: int | None = None
    completion_config: CompletionConfig = field(default_factory=CompletionConfig.all_successful)
    serdes: SerDes[Any] | None = None
    item_serdes: SerDes[Any] | None = None
    summary_generator: SummaryGenerator | None = None
    nesting_type: NestingType = NestingType.NESTED

    def __post_init__(self) -> None:
        _check_max_concurrency(self.max_concurrency)


@value_type(slots=False)
class MapConfig(Generic[T]):
    """Options of `DurableContext.map` over items of type `T`.

    Attributes:
        max_concurrency: Items in flight at once, suspended ones included; None = all
            of them. Below 1 is a `ValidationError`.
        completion_config: When the batch completes; default `CompletionConfig()`,
            which fails fast (the first failed item ends the batch).
        serdes: Serializes the whole `BatchResult` in the map's checkpoint, never the
            items' results (conformance 9-19; the official SDK 3.0 falls back to it for
            them).
        item_serdes: Serializes each item's result in its own checkpoint; None = the
            default (extended-type) serdes, not `serdes`.
        summary_generator: `(BatchResult) -> str`, stored under `summary` when the
            result is too large to checkpoint (over 256 KiB).
        nesting_type: NESTED (a CONTEXT operation per item, default) or FLAT.
        item_namer: `(item, index) -> str`, the iteration's name (else
            `map-item-{index}`). Called for every item when the map starts and on every
            replay, so it must be deterministic; an exception fails the map.
    """

    max_concurrency: int | None = None
    completion_config: CompletionConfig = field(default_factory=CompletionConfig)
    serdes: SerDes[Any] | None = None
    item_serdes: SerDes[Any] | None = None
    summary_generator: SummaryGenerator | None = None
    nesting_type: NestingType = NestingType.NESTED
    item_namer: Callable[[T, int], str] | None = None

    def __post_init__(self) -> None:
        _check_max_concurrency(self.max_concurrency)
