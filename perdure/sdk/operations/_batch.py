"""The batch operation shared by map and parallel: its CONTEXT record and its replay.

Owns `BatchRun`: validate, take the batch's id, and build it as a child-context
operation (sub-type `Parallel`/`Map`) whose body a face supplies (the sync face's
thread executor or the async face's tasks), and `replay_batch`, which
rebuilds the `BatchResult` of a batch recorded with `ReplayChildren` from its envelope.

What the batch records (docs/parallel-and-map.md):
- CONTEXT START before any branch, then the branches' own records (NESTED), then one
  SUCCEED, even when the failure tolerance was exceeded;
- the SUCCEED payload is the `BatchResult` serialized with `config.serdes` (default: the
  extended serdes; with only an `item_serdes`, the envelope holding every result as the
  item serdes wrote it, so results of types only the item serdes knows round-trip); when
  that is over 256 KiB, the envelope (`perdure.sdk.batch`) with `ReplayChildren=true`,
  while the current invocation keeps the full value.

Replay:
- SUCCEEDED: the recorded result, no branch runs (`ChildContextOperation`);
- SUCCEEDED with ReplayChildren: the envelope gives statuses, names, the reason and what
  it could hold of results and errors; only branches recorded terminal whose value is
  missing re-run (NESTED: the branch context returns its record or re-runs its body when it
  overflowed too; FLAT: the body re-runs over its inner records); nothing is written;
- STARTED (interrupted): the executor runs again; finished branches return their records.
A changed branch count, name or nesting type raises `NonDeterministicExecutionError`
naming the index and the batch operation.

Imports only `perdure.wire`, `perdure.sdk` modules below the context, and the stdlib.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from perdure.wire.types import ErrorObject, Operation, OperationStatus, OperationType

from ..batch import BatchEnvelope, BatchItem, BatchResult, BatchType, EnvelopeItem, envelope_summary_generator
from ..completion import (
    BatchItemStatus,
    CompletionConfig,
    CompletionItemStatus,
    CompletionPolicy,
    NestingType,
)
from ..concurrency import Branch, BranchRunner, branch_error_object
from ..config import ChildConfig
from ..errors import ExecutionError, SerDesError, retryable_invocation_error
from ..serdes import SerDes, SerDesContext, as_declared, deserialize, serialize
from ._base import validate_name
from .child_context import ChildContextOperation

if TYPE_CHECKING:
    from ..completion import MapConfig, ParallelConfig
    from ..scope import ContextScope

_SUB_TYPES = {
    BatchType.PARALLEL: ("Parallel", "ParallelBranch"),
    BatchType.MAP: ("Map", "MapIteration"),
}


class BatchRun:
    """One batch operation, validated and given its identity; a face runs it.

    Everything that can be checked is checked before the batch takes an operation id.

    Raises:
        ValidationError: `min_successful` is greater than the number of branches, or a
            name is too long.
    """

    def __init__(
        self,
        context: ContextScope,
        batch_type: BatchType,
        name: str | None,
        branches: Sequence[Branch],
        config: ParallelConfig | MapConfig[Any],
    ) -> None:
        validate_name(f"{batch_type.name.lower()} name", name)
        completion = config.completion_config or CompletionConfig()  # None: fail fast
        completion.validate_for_total(len(branches))
        self.completion = completion
        self.max_concurrency = config.max_concurrency
        sub_type, branch_sub_type = _SUB_TYPES[batch_type]
        self.identity = identity = context.new_identity(OperationType.CONTEXT, sub_type, name)
        self.state = state = context.state
        self.runner = runner = BranchRunner(
            context.create_child_context(identity.operation_id),
            identity,
            branches,
            branch_sub_type,
            config.nesting_type,
            config.item_serdes,
        )
        arn = state.durable_execution_arn

        def serialize_item(item: BatchItem[Any]) -> str | None:
            return serialize(config.item_serdes, item.result, runner.branch_id(item.index), arn)

        self._summary = envelope_summary_generator(
            batch_type,
            config.summary_generator,
            declared_count=len(branches),
            nesting_type=config.nesting_type,
            serialize_result=serialize_item,
        )
        state.plugins.batch_declared(identity.operation_id, len(branches))
        self.recorded = state.get(identity.operation_id)
        batch_serdes = config.serdes
        if batch_serdes is None and config.item_serdes is not None:
            batch_serdes = _ItemSerDesEnvelope(runner, batch_type, serialize_item)
        self._serdes = batch_serdes
        # The declared result types, by index: only under the default serdes, and only
        # when some branch declares one (else results are not visited at all).
        self._declared: list[Any] | None = None
        if batch_serdes is None and any(branch.declared is not None for branch in branches):
            self._declared = [branch.declared for branch in branches]

    def replay_record(self) -> Operation | None:
        """The batch's SUCCEEDED record when the body replays it (ReplayChildren), else
        None after checking that a live run may start.

        Raises:
            NonDeterministicExecutionError: the record's status or the branch count.
        """
        record = self.state.get(self.identity.operation_id)
        if record is not None and record.status is OperationStatus.SUCCEEDED:
            return record
        if record is not None and record.status is not OperationStatus.STARTED:
            raise self.runner.non_deterministic(
                None,
                f"the batch was recorded {record.status.value}, which a batch never is",
                self.identity.operation_id,
            )
        self.runner.check_count()
        return None

    def operation(self, body: Callable[[], Any]) -> ChildContextOperation[BatchResult[Any]]:
        """The batch's CONTEXT operation, whose body runs (or replays) the branches."""
        return ChildContextOperation(
            body,
            ChildConfig(serdes=self._serdes, summary_generator=self._summary),
            self.state,
            self.identity,
            round_trip=self._serdes is not None,
        )

    def checked(self, result: BatchResult[Any]) -> BatchResult[Any]:
        """`result`, each SUCCEEDED item's result converted to the type its branch declares
        (first run and replay alike, as a step's result is).

        Raises:
            NonDeterministicExecutionError: a recorded item the declared branches disagree with.
            SerDesError: a recorded result does not fit its branch's declared type.
        """
        recorded = self.recorded
        if (
            recorded is not None
            and recorded.status is OperationStatus.SUCCEEDED
            and not (recorded.context_details and recorded.context_details.replay_children)
            and isinstance(result, BatchResult)
        ):
            _check_recorded_items(self.runner, result.all)
        if self._declared is None or not isinstance(result, BatchResult):
            return result
        return BatchResult([self._typed(item) for item in result.all], result.completion_reason)

    def _typed(self, item: BatchItem[Any]) -> BatchItem[Any]:
        declared = self._declared[item.index] if self._declared and item.index < len(self._declared) else None
        if declared is None or item.status is not BatchItemStatus.SUCCEEDED:
            return item
        value = as_declared(item.result, declared, f"branch {item.index} of {self.runner.label}")
        return item if value is item.result else replace(item, result=value)


class _ItemSerDesEnvelope(SerDes[BatchResult[Any]]):
    """The whole-result serdes of a batch with only an `item_serdes`: the envelope, with
    every name, error and result (each written by the item serdes) recorded."""

    def __init__(
        self,
        runner: BranchRunner,
        batch_type: BatchType,
        serialize_item: Callable[[BatchItem[Any]], str | None],
    ) -> None:
        self.runner = runner
        self.batch_type = batch_type
        self.serialize_item = serialize_item

    def serialize(self, value: BatchResult[Any], serdes_context: SerDesContext) -> str:
        runner = self.runner
        return BatchEnvelope.encode(
            value,
            self.batch_type,
            declared_count=len(runner.branches),
            nesting_type=NestingType.FLAT if runner.flat else NestingType.NESTED,
            serialize_result=self.serialize_item,
            max_bytes=sys.maxsize,
        )

    def deserialize(self, data: str, serdes_context: SerDesContext) -> BatchResult[Any]:
        envelope = BatchEnvelope.decode(data)
        if envelope is None or any(
            item.status is BatchItemStatus.SUCCEEDED and not item.result_recorded for item in envelope.items
        ):
            raise SerDesError(f"the recorded result of {self.runner.label} is not a complete batch envelope")
        return _rebuild(self.runner, envelope, Replayer(self.runner))


def _check_recorded_items(
    runner: BranchRunner, items: Sequence[BatchItem[Any]] | Sequence[EnvelopeItem]
) -> None:
    """Reject recorded items beyond the declared branches or with another name."""
    branches = runner.branches
    for item in items:
        if item.index >= len(branches):
            raise runner.non_deterministic(
                item.index,
                f"it was recorded, but only {len(branches)} branches are declared now (the branch count changed)",
                runner.branch_id(item.index),
            )
        current = branches[item.index].name
        if item.name is not None and item.name != current:
            raise runner.non_deterministic(
                item.index,
                f"its name was {item.name!r} and is now {current!r}",
                runner.branch_id(item.index),
            )


class MissingOutcome(Exception):
    """Raised by a `Replayer` that may not run branches itself (the async face): run
    branch `index`, give its outcome to `Replayer.settle`, and rebuild again."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


Outcome = tuple[BatchItemStatus, Any, ErrorObject | None]


class Replayer:
    """Re-derives branches of a completed batch, each at most once.

    Args:
        runner: the batch's branch runner.
        runs_branches: run a branch that must re-run in place (the sync face); else raise
            `MissingOutcome` so the caller runs it (the async face).
    """

    def __init__(self, runner: BranchRunner, *, runs_branches: bool = True) -> None:
        self.runner = runner
        self.runs_branches = runs_branches
        self._outcomes: dict[int, Outcome] = {}

    def outcome(self, index: int) -> Outcome:
        """(status, result, error) of a branch recorded terminal."""
        found = self._outcomes.get(index)
        if found is None:
            found = self.recorded(index)
            if found is None:
                if not self.runs_branches:
                    raise MissingOutcome(index)
                try:
                    found = (BatchItemStatus.SUCCEEDED, self.runner.run(index), None)
                except BaseException as exc:
                    found = self.failed(exc)
            self._outcomes[index] = found
        return found

    def settle(self, index: int, outcome: Outcome) -> None:
        """Record the outcome of a branch the caller ran (see `MissingOutcome`)."""
        self._outcomes[index] = outcome

    def recorded(self, index: int) -> Outcome | None:
        """The outcome the records give without running the branch (None: it must run).

        Raises:
            NonDeterministicExecutionError: a NESTED branch has no terminal record.
        """
        runner = self.runner
        record = runner.check_record(index)
        if not runner.flat:
            if record is None or not record.status.is_terminal:
                found = record.status.value if record is not None else "no record"
                raise runner.non_deterministic(
                    index,
                    f"the batch recorded it finished, but its context has {found}",
                    runner.branch_id(index),
                )
            if record.status is OperationStatus.FAILED:
                details = record.context_details
                return BatchItemStatus.FAILED, None, details.error if details else None
        return None

    @staticmethod
    def failed(exc: BaseException) -> Outcome:
        """The outcome of a re-run that raised `exc` (execution-terminal errors propagate)."""
        if isinstance(exc, ExecutionError) or not isinstance(exc, Exception):
            raise exc
        if retryable_invocation_error(exc) is not None:
            raise exc
        return BatchItemStatus.FAILED, None, branch_error_object(exc)


def replay_batch(
    runner: BranchRunner,
    record: Operation,
    completion_config: CompletionConfig,
    replayer: Replayer | None = None,
) -> BatchResult[Any]:
    """The `BatchResult` of a batch recorded SUCCEEDED with ReplayChildren.

    Raises:
        NonDeterministicExecutionError: the declared count, the nesting type or a name
            differs from the record.
    """
    details = record.context_details
    envelope = BatchEnvelope.decode(details.result if details else None)
    replayer = replayer or Replayer(runner)
    if envelope is None:
        return _replay_from_records(runner, replayer, completion_config)
    return _rebuild(runner, envelope, replayer)


def _rebuild(runner: BranchRunner, envelope: BatchEnvelope, replayer: Replayer) -> BatchResult[Any]:
    """Check `envelope` against the declared branches, then rebuild its result."""
    total = len(runner.branches)
    nesting = NestingType.FLAT if runner.flat else NestingType.NESTED
    if envelope.declared_count is not None and envelope.declared_count != total:
        raise runner.non_deterministic(
            None,
            f"{envelope.declared_count} branches were recorded and {total} are declared now",
            runner.batch.operation_id,
        )
    if envelope.nesting_type is not None and envelope.nesting_type is not nesting:
        raise runner.non_deterministic(
            None,
            f"it was recorded {envelope.nesting_type.value} and the nesting type is now {nesting.value}",
            runner.batch.operation_id,
        )
    _check_recorded_items(runner, envelope.items)
    item_serdes: SerDes[Any] | None = runner.item_serdes
    arn = runner.state.durable_execution_arn

    def result_of(item: EnvelopeItem) -> Any:
        if item.result_recorded:
            if item.result_payload is None:
                return None
            return deserialize(item_serdes, item.result_payload, runner.branch_id(item.index), arn)
        status, result, _ = replayer.outcome(item.index)
        return result if status is BatchItemStatus.SUCCEEDED else None

    def error_of(item: EnvelopeItem) -> ErrorObject | None:
        return replayer.outcome(item.index)[2]

    def status_of(item: EnvelopeItem) -> BatchItemStatus:
        return replayer.outcome(item.index)[0]

    rebuilt = envelope.rebuild(result_of=result_of, error_of=error_of, status_of=status_of)
    branches = runner.branches
    return BatchResult(
        [
            item if item.name is not None else replace(item, name=branches[item.index].name)
            for item in rebuilt.all
        ],
        rebuilt.completion_reason,
    )


def _replay_from_records(
    runner: BranchRunner, replayer: Replayer, completion_config: CompletionConfig
) -> BatchResult[Any]:
    """Fallback for a payload that is no envelope: each branch from its own records."""
    items: list[BatchItem[Any]] = []
    for branch in runner.branches:
        index = branch.index
        if not runner.was_started(index):
            continue
        record = runner.check_record(index)
        if record is not None and not record.status.is_terminal:
            items.append(BatchItem(index, BatchItemStatus.STARTED, None, None, branch.name))
            continue
        status, result, error = replayer.outcome(index)
        items.append(BatchItem(index, status, result, error, branch.name))
    succeeded = sum(1 for item in items if item.status is BatchItemStatus.SUCCEEDED)
    failed = sum(1 for item in items if item.status is BatchItemStatus.FAILED)
    policy = CompletionPolicy.from_config(len(runner.branches), completion_config)
    snapshot: tuple[CompletionItemStatus, ...] = ()
    if policy.should_complete is not None:
        by_index = {item.index: item.status for item in items}
        snapshot = tuple(
            CompletionItemStatus(b.index, b.custom_name, by_index.get(b.index)) for b in runner.branches
        )
    return BatchResult(items, policy.reason(succeeded, failed, snapshot))


__all__ = ["BatchRun", "MissingOutcome", "Replayer", "replay_batch"]
