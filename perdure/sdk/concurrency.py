"""The concurrency engine of map and parallel: admission, worker threads, in-process resume.

Owns `Branch` (one declared branch), `BranchRunner` (runs one branch in its own child
context, NESTED or FLAT, and checks its record for non-determinism) and
`ConcurrentExecutor` (the coordinator loop of one batch).

Threads: one pool per batch, under the process's thread budget (`perdure.sdk.threads`):
a branch is admitted only with a free slot, a worker hands its slot to the next branch it
admits, and a branch thread that waits on its nested batch lends its slot back while it
waits, so nested maps neither multiply threads without bound nor deadlock. A worker runs a
branch, records how it ended and admits
the next branch itself, under the batch's lock (`RunState`), so a batch of short branches
costs one thread switch per branch (its checkpoint's acknowledgement) rather than three.
The coordinator (the calling thread) starts the workers, resumes the waves of suspended
branches and decides when the batch completes or suspends; workers wake it only when
that decision may change. What branches share besides `RunState` is already thread-safe:
operation ids come from the branch index (each branch context has its own locked
counter), the replay state is a dict mutated by single assignments, and the checkpoint
writer locks its queue.

The model (docs/parallel-and-map.md; the official SDK 3.0's):
- branches are admitted in index order while the completion policy lets more run;
  `max_concurrency` bounds branches in flight, suspended ones included (a suspended branch
  keeps its slot until it is terminal); at most `MAX_BRANCH_THREADS` run at once;
- a branch that suspends until a time joins the resume wave of that time; when a wave is
  due while other branches still run, the coordinator refreshes the state (a checkpoint
  without updates) and re-runs the wave's branches, which replay up to where they
  stopped: an in-process resume, cheaper than suspending the whole execution;
- when no branch is running (all in flight are suspended, nothing can be admitted), the
  batch suspends: until the earliest wave, or indefinitely;
- when the policy says done, admission stops; branches still in flight are reported
  STARTED and are never abandoned: they keep running until their next checkpoint is
  refused (their batch has completed), and the invocation joins them before it ends.

Imports only `perdure.wire`, `perdure.sdk` modules below the context, and the stdlib.
"""

from __future__ import annotations

import contextvars
import heapq
import threading
from collections import deque
from collections.abc import Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from perdure.wire.fast_init import value_type
from perdure.wire.types import ErrorObject, Operation, OperationType

from .batch import BatchItem, BatchResult
from .completion import BatchItemStatus, CompletionConfig, CompletionPolicy, CompletionTracker, NestingType
from .config import ChildConfig
from .errors import (
    DurableOperationError,
    ExecutionError,
    NonDeterministicExecutionError,
    OrphanedChildException,
    SuspendExecution,
    TimedSuspendExecution,
    error_object_from_exception,
    retryable_invocation_error,
)
from .ids import operation_id
from .operations._base import OperationIdentity
from .operations.child_context import ChildContextOperation
from .serdes import SerDes
from .state import ExecutionState, identity_mismatches
from .threads import BUDGET, ThreadBudget

if TYPE_CHECKING:
    from concurrent.futures import Future

    from .scope import ContextScope

MAX_BRANCH_THREADS = 256
"""Branches running at once in one batch, whatever `max_concurrency` allows (threads)."""
MAX_STALL_BACKOFF_SECONDS = 60.0
"""Longest in-process back-off for a branch the service has not yet resumed."""
STARVED_POLL_SECONDS = 0.02
"""How often a batch waiting for a slot of the process's thread budget looks again."""


@value_type
class Branch:
    """One declared branch of a batch.

    Attributes:
        index: its position among the declared branches (its identity).
        func: the body, called with the branch's context (of the batch's face).
        name: the branch operation's name (custom or default).
        custom_name: the user's name (`ParallelBranch.name`, `item_namer`), else None.
        declared: the return type the user's function declares (`result_type`), else None.
    """

    index: int
    func: Callable[[Any], Any]
    name: str
    custom_name: str | None = None
    declared: Any = None


def branch_error_object(error: BaseException) -> ErrorObject:
    """The `ErrorObject` of a failed branch: the error that escaped the branch body.

    A `DurableOperationError` (the branch's `ChildContextError`) already carries the
    inner error's type, message, data and trace. Anything else is converted the usual
    way; an error that cannot even be printed still gives a proper object.
    """
    if isinstance(error, DurableOperationError):
        return ErrorObject(
            error_message=error.message,
            error_type=error.error_type,
            error_data=error.data,
            stack_trace=tuple(error.stack_trace) if error.stack_trace else None,
        )
    try:
        return error_object_from_exception(error)
    except Exception:  # str(error) itself raised: record what is knowable
        kind = type(error)
        return ErrorObject(
            error_message=f"<unprintable {kind.__qualname__}>",
            error_type=kind.__qualname__
            if kind.__module__ == "builtins"
            else f"{kind.__module__}.{kind.__qualname__}",
        )


class BranchRunner:
    """Runs the branches of one batch operation in their child contexts.

    Args:
        batch_context: the child context of the batch operation (prefix and parent of
            the branches).
        batch: the batch operation's identity.
        branches: the declared branches, `branches[i].index == i`.
        branch_sub_type: `ParallelBranch` or `MapIteration`.
        nesting_type: NESTED (a CONTEXT operation per branch) or FLAT (virtual).
        item_serdes: serializes each branch's result (None: the default serdes).
    """

    def __init__(
        self,
        batch_context: ContextScope,
        batch: OperationIdentity,
        branches: Sequence[Branch],
        branch_sub_type: str,
        nesting_type: NestingType,
        item_serdes: SerDes[Any] | None,
    ) -> None:
        self.batch_context = batch_context
        self.state: ExecutionState = batch_context.state
        self.batch = batch
        self.branches = branches
        self.branch_sub_type = branch_sub_type
        self.flat = nesting_type is NestingType.FLAT
        self.item_serdes = item_serdes
        self._child_config: ChildConfig[Any] = ChildConfig(serdes=item_serdes, is_virtual=self.flat)
        # A branch's SUCCEED/FAIL need not wait (docs/concurrency.md); with plugins it
        # does, so `on_operation_end` still fires on the branch's thread right after it.
        self._terminal_sync = self.state.plugins.has_plugins

    # ------------------------------------------------------------------ identity

    @property
    def label(self) -> str:
        """`map 'name' (id ...)` for error messages."""
        kind = "map" if self.branch_sub_type == "MapIteration" else "parallel"
        named = f" {self.batch.name!r}" if self.batch.name else ""
        return f"{kind}{named} (id {self.batch.operation_id})"

    def branch_id(self, index: int) -> str:
        """The operation id of branch `index` (from the index, never from run order)."""
        return operation_id(self.batch.operation_id, index)

    def identity(self, index: int) -> OperationIdentity:
        """The CONTEXT identity of branch `index` (NESTED), parented to the batch."""
        return OperationIdentity(
            self.branch_id(index),
            OperationType.CONTEXT,
            self.branch_sub_type,
            self.batch.operation_id,
            self.branches[index].name,
        )

    def non_deterministic(
        self, index: int | None, detail: str, step_id: str
    ) -> NonDeterministicExecutionError:
        where = f"branch {index} of {self.label}" if index is not None else self.label
        return NonDeterministicExecutionError(f"Non-deterministic {where}: {detail}", step_id=step_id)

    def check_record(self, index: int, identity: OperationIdentity | None = None) -> Operation | None:
        """Reject a branch record that the current code would not have written.

        Returns:
            The branch's CONTEXT record (None for FLAT or a branch never started).

        Raises:
            NonDeterministicExecutionError: naming the index and the operation, when the
                nesting type, the branch's name or sub-type changed.
        """
        identity = identity or self.identity(index)
        record = self.state.get(identity.operation_id)
        if record is not None:
            if self.flat:
                raise self.non_deterministic(
                    index,
                    f"it was recorded NESTED (a {record.sub_type} context {record.id}) but the nesting "
                    "type is now FLAT",
                    record.id,
                )
            mismatches = identity_mismatches(
                record, identity.operation_type, identity.sub_type, identity.name, identity.parent_id
            )
            if mismatches:
                raise self.non_deterministic(index, ", ".join(mismatches), record.id)
            return record
        if not self.flat:
            inner = self.state.get(operation_id(identity.operation_id, 1))
            if inner is not None and inner.parent_id == self.batch.operation_id:
                raise self.non_deterministic(
                    index, "it was recorded FLAT but the nesting type is now NESTED", inner.id
                )
        return None

    def check_count(self) -> None:
        """Reject a history with a branch beyond the declared ones.

        Raises:
            NonDeterministicExecutionError: the branch at index `len(branches)` has a record.
        """
        extra = len(self.branches)
        extra_id = self.branch_id(extra)
        inner = self.state.get(operation_id(extra_id, 1))
        if self.state.get(extra_id) is not None or (
            inner is not None and inner.parent_id in (extra_id, self.batch.operation_id)
        ):
            raise self.non_deterministic(
                extra,
                f"it was recorded, but only {extra} branches are declared now (the branch count changed)",
                extra_id,
            )

    def was_started(self, index: int) -> bool:
        """Whether branch `index` left any record (its context, or a FLAT inner operation)."""
        branch_id = self.branch_id(index)
        return branch_id in self.state.operations or operation_id(branch_id, 1) in self.state.operations

    # ----------------------------------------------------------------------- run

    def operation(self, index: int) -> ChildContextOperation[Any]:
        """The child-context operation of branch `index`, its record checked, its body bound
        to a fresh branch context (of the batch context's face).

        Raises:
            NonDeterministicExecutionError: see `check_record`.
        """
        branch = self.branches[index]
        identity = self.identity(index)
        self.check_record(index, identity)
        child = self.batch_context.create_child_context(identity.operation_id, is_virtual=self.flat)
        if child.is_replaying() and not self.was_started(index):
            # New work inside a replaying batch: its logs are not replays.
            child.mark_new()

        def body() -> Any:
            return branch.func(child)

        return ChildContextOperation(
            body, self._child_config, self.state, identity, terminal_sync=self._terminal_sync
        )

    def run(self, index: int) -> Any:
        """Run branch `index` to its end (replaying what is recorded) and return its result.

        Raises:
            ChildContextError: the branch failed (recorded as FAIL for NESTED).
            SuspendExecution: the branch suspended.
            NonDeterministicExecutionError: see `check_record`.
        """
        return self.operation(index).process()


class _Kind(Enum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SUSPENDED = "SUSPENDED"
    ORPHANED = "ORPHANED"
    FATAL = "FATAL"


@value_type
class _Event:
    """What a worker reports about one run of one branch."""

    index: int
    kind: _Kind
    result: Any = None
    error: ErrorObject | None = None
    resume_at: float | None = None
    fatal: BaseException | None = None


def succeeded(index: int, result: Any) -> _Event:
    """How a run of branch `index` that returned `result` ended."""
    return _Event(index, _Kind.SUCCEEDED, result=result)


def ended_with(index: int, exc: BaseException) -> _Event:
    """How a run of branch `index` that raised `exc` ended (both faces classify alike)."""
    if isinstance(exc, TimedSuspendExecution):
        return _Event(index, _Kind.SUSPENDED, resume_at=exc.scheduled_timestamp)
    if isinstance(exc, SuspendExecution):
        return _Event(index, _Kind.SUSPENDED)
    if isinstance(exc, OrphanedChildException):
        return _Event(index, _Kind.ORPHANED)
    if isinstance(exc, ExecutionError):
        # Non-determinism and other execution-terminal errors bypass the policy.
        return _Event(index, _Kind.FATAL, fatal=exc)
    if isinstance(exc, Exception):
        if retryable_invocation_error(exc) is not None:
            return _Event(index, _Kind.FATAL, fatal=exc)
        return _Event(index, _Kind.FAILED, error=branch_error_object(exc))
    # a failed checkpoint writer, a cancellation, interpreter exit
    return _Event(index, _Kind.FATAL, fatal=exc)


class RunState:
    """The mutable state of one batch run, shared by the coordinator and the workers under
    `cond` (each change is made by whoever observed it, holding the lock)."""

    def __init__(
        self, executor: BatchExecutor, tracker: CompletionTracker, budget: ThreadBudget | None = None
    ) -> None:
        total = len(executor.branches)
        self.policy = executor.policy
        self.tracker = tracker
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.results: dict[int, Any] = {}
        self.errors: dict[int, ErrorObject | None] = {}
        self.pending = deque(range(total))
        self.max_in_flight = executor.max_concurrency or total
        self.max_running = min(self.max_in_flight, MAX_BRANCH_THREADS)
        self.in_flight = 0
        """Admitted branches not yet terminal (suspended ones keep their slot)."""
        self.running = 0
        """Branches running on a thread now."""
        self.resume_times: list[float] = []
        self.waves: dict[float, list[int]] = {}
        self.stalls: dict[int, int] = {}
        self.fatal: BaseException | None = None
        self.orphaned = False
        self.stopped = False
        """The batch has its result: admit nothing, record nothing."""
        self.clock = executor.runner.state.clock
        self.budget = budget
        """The process's thread budget (None: branches are tasks, not threads)."""
        self.starved = False
        """The last admission found no free slot in the budget."""

    def admit(self, *, has_slot: bool = False) -> int | None:
        """Admit the next pending branch if the policy and the limits allow (lock held).

        Args:
            has_slot: the caller hands over a slot of the budget it holds (a worker that
                has just finished a branch); else one is taken, if free.
        """
        if (
            self.stopped
            or self.fatal is not None
            or self.orphaned
            or not self.pending
            or self.in_flight >= self.max_in_flight
            or self.running >= self.max_running
            or not self.policy.should_continue(self.tracker.failed)
            or self.tracker.check().is_done
        ):
            return None
        budget = self.budget
        if budget is not None and not has_slot and not budget.try_acquire():
            self.starved = True
            return None
        self.starved = False
        index = self.pending.popleft()
        self.tracker.mark(index, BatchItemStatus.STARTED)
        self.in_flight += 1
        self.running += 1
        return index

    def _settle(self, event: _Event) -> None:
        if event.kind is _Kind.SUCCEEDED:
            self.results[event.index] = event.result
            self.tracker.mark(event.index, BatchItemStatus.SUCCEEDED)
        else:
            self.errors[event.index] = event.error
            self.tracker.mark(event.index, BatchItemStatus.FAILED)

    def _resume_time(self, index: int, resume_at: float) -> float:
        """When to resume a branch; backs off while it suspends for a time already past.

        A branch re-run by a wave that suspends again for a past time means the
        service has not yet recorded its timer as fired: retry later, not at once.
        """
        now = self.clock.time()
        if resume_at > now:
            self.stalls.pop(index, None)
            return resume_at
        stall = self.stalls[index] = self.stalls.get(index, 0) + 1
        if stall == 1:
            return now
        return now + min(2.0 ** (stall - 2), MAX_STALL_BACKOFF_SECONDS)

    def take_due(self, now: float) -> list[int]:
        """The branches of every resume wave due at `now` (lock held)."""
        due: list[int] = []
        while self.resume_times and self.resume_times[0] <= now:
            due.extend(self.waves.pop(heapq.heappop(self.resume_times)))
        return due

    def fail(self, error: BaseException) -> None:
        """A worker broke outside any branch: the coordinator raises `error` (it would
        otherwise wait for a worker that is gone)."""
        with self.cond:
            if self.fatal is None:
                self.fatal = error
            self.cond.notify()

    def settle_and_admit(self, event: _Event) -> int | None:
        """Record how one run of a branch ended; return the next branch this worker runs
        (with the worker's slot of the budget), or give the slot back.
        """
        following = self._settle_and_admit(event)
        if following is None and self.budget is not None:
            self.budget.release()
        return following

    def _settle_and_admit(self, event: _Event) -> int | None:
        """`settle_and_admit` under the lock.

        The coordinator is woken only when its decision may change: the batch is done, no
        branch is running (all suspended, or all finished), a branch suspended until a time
        (the next wave moved), or an execution-terminal error.
        """
        with self.lock:  # the condition's lock (entering the Condition is a Python call)
            if self.stopped:
                return None
            kind = event.kind
            wake = kind is not _Kind.SUCCEEDED and kind is not _Kind.FAILED
            try:
                if kind is _Kind.SUCCEEDED or kind is _Kind.FAILED:
                    self._settle(event)
                    self.stalls.pop(event.index, None)
                    self.running -= 1
                    self.in_flight -= 1
                    following = self.admit(has_slot=True)
                    if following is not None:
                        return following
                elif kind is _Kind.SUSPENDED:
                    self.running -= 1
                    if event.resume_at is not None:
                        resume_at = self._resume_time(event.index, event.resume_at)
                        if resume_at not in self.waves:
                            self.waves[resume_at] = []
                            heapq.heappush(self.resume_times, resume_at)
                        self.waves[resume_at].append(event.index)
                elif kind is _Kind.ORPHANED:
                    # An enclosing context completed: nothing more can be recorded here.
                    self.running -= 1
                    self.orphaned = True
                else:
                    self.running -= 1
                    if self.fatal is None:
                        self.fatal = event.fatal
            except BaseException as exc:  # e.g. the user's should_complete raised
                if self.fatal is None:
                    self.fatal = exc
                wake = True
            if not wake and self.running and self.fatal is None:
                try:
                    wake = self.tracker.check().is_done
                except BaseException as exc:  # the user's should_complete raised
                    self.fatal, wake = exc, True
            if wake or not self.running:
                self.cond.notify()
            return None


def _release_if_cancelled(future: Future[None]) -> None:
    if future.cancelled():
        BUDGET.release()


class BatchExecutor(Protocol):
    """What a `RunState` reads of the executor that owns it (either face's)."""

    @property
    def branches(self) -> Sequence[Branch]: ...

    @property
    def policy(self) -> CompletionPolicy: ...

    @property
    def max_concurrency(self) -> int | None: ...

    @property
    def runner(self) -> BranchRunner: ...


class ConcurrentExecutor:
    """Runs the branches of one batch live and returns its `BatchResult`.

    Args:
        runner: runs one branch.
        completion_config: when the batch completes.
        max_concurrency: branches in flight at once (None: all).
    """

    def __init__(
        self, runner: BranchRunner, completion_config: CompletionConfig, max_concurrency: int | None
    ) -> None:
        self.runner = runner
        self.branches = runner.branches
        self.policy = CompletionPolicy.from_config(len(self.branches), completion_config)
        self.max_concurrency = max_concurrency

    def _outcome(self, index: int) -> _Event:
        """Run branch `index` once and say how that run ended."""
        try:
            result = self.runner.run(index)
        except BaseException as exc:
            return ended_with(index, exc)
        return succeeded(index, result)

    def execute(self) -> BatchResult[Any]:
        """Run the batch until it completes (or raise to suspend).

        Raises:
            SuspendExecution: every branch in flight is suspended (timed when one waits
                for a time).
            NonDeterministicExecutionError, InvocationError, BackgroundThreadError: a
                branch hit an execution-terminal error.
        """
        total = len(self.branches)
        run = RunState(
            self, CompletionTracker(self.policy, names=[b.custom_name for b in self.branches]), BUDGET
        )
        if total == 0 or run.tracker.check().is_done:
            return self.result(run.tracker, run.results, run.errors, run.tracker.check().reason)
        from concurrent.futures import ThreadPoolExecutor  # loaded by the first map or parallel

        pool = ThreadPoolExecutor(max_workers=run.max_running, thread_name_prefix="perdure-branch")
        # Branches still running after an early completion are joined before the
        # checkpoint writer stops (they end at their next, refused, checkpoint).
        self.runner.state.on_close(lambda: pool.shutdown(wait=True))
        base = contextvars.copy_context()

        def work(index: int | None) -> None:
            # A worker runs branches until nothing more may be admitted: one thread switch
            # per branch fewer than handing every admission through the coordinator.
            try:
                with BUDGET.holding():
                    while index is not None:
                        # Each run gets its own copy of the caller's context variables (tracing,
                        # logging context): they reach the branch, nothing leaks between branches.
                        index = run.settle_and_admit(base.copy().run(self._outcome, index))
            except BaseException as exc:  # a fault of the executor itself
                BUDGET.release()
                run.fail(exc)

        def start(indexes: list[int], *, refresh: bool = False) -> None:
            # Without the lock: starting a thread waits for it to run, and the workers
            # already running need the lock to finish their branches.
            run.cond.release()
            submitted = 0
            try:
                if refresh:
                    self.runner.state.create_checkpoint(None, is_sync=True)
                for index in indexes:
                    # A work item cancelled before it ran gives its slot back.
                    pool.submit(work, index).add_done_callback(_release_if_cancelled)
                    submitted += 1
            except BaseException:
                # The slots taken for branches that never reached the pool go back to the
                # process's budget, which outlives this batch.
                for _ in range(len(indexes) - submitted):
                    BUDGET.release()
                raise
            finally:
                run.cond.acquire()

        try:
            with run.cond:
                while True:
                    if run.fatal is not None:
                        raise run.fatal
                    if run.orphaned or run.tracker.check().is_done:
                        break
                    admitted: list[int] = []
                    index = run.admit()
                    while index is not None:
                        admitted.append(index)
                        index = run.admit()
                    if admitted:
                        start(admitted)
                        continue  # decide again: the lock was released
                    now = run.clock.time()
                    if run.resume_times and run.resume_times[0] <= now:
                        due = sorted(run.take_due(now))
                        run.running += len(due)
                        for _ in due:  # a resumed branch runs now, whatever the budget says
                            BUDGET.force_acquire()
                        # One empty checkpoint brings the service's view (timers fired,
                        # retries ready) into the state; the wave then replays in index order.
                        start(due, refresh=True)
                        continue
                    if run.running == 0 and not run.starved:
                        if run.resume_times:
                            raise TimedSuspendExecution(
                                f"every running branch of {self.runner.label} is suspended",
                                run.resume_times[0],
                            )
                        raise SuspendExecution(f"every running branch of {self.runner.label} is suspended")
                    timeout = max(run.resume_times[0] - now, 0.0) if run.resume_times else None
                    if run.starved:  # a slot frees elsewhere in the process: look again soon
                        timeout = (
                            min(timeout, STARVED_POLL_SECONDS)
                            if timeout is not None
                            else STARVED_POLL_SECONDS
                        )
                    with BUDGET.lend():  # a branch thread waiting on its nested batch lends its slot
                        run.cond.wait(timeout)
                # Branches that end after this point keep running but change nothing here:
                # the reason is the one that ended the loop.
                run.stopped = True
                return self.result(run.tracker, run.results, run.errors, run.tracker.check().reason)
        finally:
            with run.cond:
                run.stopped = True
            pool.shutdown(wait=False, cancel_futures=True)

    def result(
        self,
        tracker: CompletionTracker,
        results: dict[int, Any],
        errors: dict[int, ErrorObject | None],
        reason: Any,
    ) -> BatchResult[Any]:
        """Admitted branches in index order; never-admitted ones are left out."""
        return batch_result(self.branches, tracker, results, errors, reason)


def batch_result(
    branches: Sequence[Branch],
    tracker: CompletionTracker,
    results: dict[int, Any],
    errors: dict[int, ErrorObject | None],
    reason: Any,
) -> BatchResult[Any]:
    """The `BatchResult` of a run: admitted branches in index order (both faces)."""
    items: list[BatchItem[Any]] = []
    for index, status in enumerate(tracker.statuses):
        if status is None:
            continue
        name = branches[index].name
        if status is BatchItemStatus.SUCCEEDED:
            items.append(BatchItem(index, status, results.get(index), None, name))
        elif status is BatchItemStatus.FAILED:
            items.append(BatchItem(index, status, None, errors.get(index), name))
        else:
            items.append(BatchItem(index, status, None, None, name))
    return BatchResult(items, reason)


__all__ = [
    "MAX_BRANCH_THREADS",
    "Branch",
    "BranchRunner",
    "ConcurrentExecutor",
    "RunState",
    "batch_result",
    "branch_error_object",
    "ended_with",
    "succeeded",
]
