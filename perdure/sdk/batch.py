"""The result of a map or parallel batch, and the summary envelope replay rebuilds it from.

Owns `BatchItem`, `BatchResult` (generic in the branches' result type) and the batch
envelope: the compact JSON a map/parallel checkpoints as its CONTEXT result when the
serialized `BatchResult` is over the 256 KiB operation limit (with ReplayChildren set).
The envelope is the official SDK 3.0's (`type`, `totalCount`, `completionReason`, the
started or completed index list, counts, `status`, optional user `summary`) plus one
namespaced key, `perdure`, carrying what an exact rebuild needs beyond it: the declared
branch count, the nesting type, the names, and as many errors and serialized results as
fit. docs/parallel-and-map.md describes the format.

Nothing here runs a branch or touches a checkpoint. Imports only `perdure.sdk.errors`,
`perdure.sdk.completion`, `perdure.wire` and the standard library.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any, Generic, TypeVar, cast

from perdure.sdk.completion import (
    BatchItemStatus,
    CompletionConfig,
    CompletionItemStatus,
    CompletionPolicy,
    CompletionReason,
    NestingType,
    SummaryGenerator,
)
from perdure.sdk.errors import BatchCompletionError, ChildContextError, ValidationError, raise_operation_error
from perdure.sdk.serdes import register_batch_result_type
from perdure.wire.codec import from_wire, to_wire
from perdure.wire.fast_init import value_type
from perdure.wire.limits import MAX_OPERATION_PAYLOAD_BYTES
from perdure.wire.types import ErrorObject

R = TypeVar("R")
logger = logging.getLogger(__name__)


def _status(value: object) -> BatchItemStatus:
    try:
        return BatchItemStatus(cast(str, value))
    except ValueError:
        raise ValidationError(f"unknown batch item status: {value!r}") from None


def _reason(value: object) -> CompletionReason:
    try:
        return CompletionReason(cast(str, value))
    except ValueError:
        raise ValidationError(f"unknown completion reason: {value!r}") from None


@value_type(slots=False)
class BatchItem(Generic[R]):
    """One branch of a batch.

    Attributes:
        index: The branch's position among the declared branches.
        status: SUCCEEDED, FAILED, or STARTED (admitted, not terminal at completion).
        result: The branch's result when SUCCEEDED (None is a valid result).
        error: The recorded error when FAILED; may be None if none was recorded.
        name: The branch operation's name (`parallel-branch-{i}`, `map-item-{i}`, or
            the custom name); None when unknown.
    """

    index: int
    status: BatchItemStatus
    result: R | None = None
    error: ErrorObject | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """`{"index", "status", "result", "error"}` (+ `"name"` when known); the error
        in the wire's ErrorObject JSON."""
        data: dict[str, Any] = {
            "index": self.index,
            "status": self.status.value,
            "result": self.result,
            "error": to_wire(self.error) if self.error is not None else None,
        }
        if self.name is not None:
            data["name"] = self.name
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchItem[R]:
        """The item of a `to_dict()` dict (also the official SDK's, which has no name).

        Raises:
            ValidationError: unknown status.
        """
        error = data.get("error")
        return cls(
            index=data["index"],
            status=_status(data["status"]),
            result=data.get("result"),
            error=from_wire(ErrorObject, error) if error is not None else None,
            name=data.get("name"),
        )


@value_type(slots=False)
class BatchResult(Generic[R]):
    """What map and parallel return: one item per admitted branch, and the reason.

    Branches never admitted (the batch completed first) are not in `all`; admitted
    branches not terminal at completion are STARTED. Neither operation raises because
    branches failed: call `throw_if_error()`.

    Attributes:
        all: The items in index order.
        completion_reason: Why the batch completed.
    """

    all: list[BatchItem[R]]
    completion_reason: CompletionReason

    # -------------------------------------------------------------------- views

    def succeeded(self) -> list[BatchItem[R]]:
        """The SUCCEEDED items, in index order."""
        return [item for item in self.all if item.status is BatchItemStatus.SUCCEEDED]

    def failed(self) -> list[BatchItem[R]]:
        """The FAILED items, in index order."""
        return [item for item in self.all if item.status is BatchItemStatus.FAILED]

    def started(self) -> list[BatchItem[R]]:
        """The STARTED items (admitted, not terminal when the batch completed)."""
        return [item for item in self.all if item.status is BatchItemStatus.STARTED]

    def get_results(self) -> list[R]:
        """The results of the SUCCEEDED items in index order (None results kept)."""
        return [cast(R, item.result) for item in self.all if item.status is BatchItemStatus.SUCCEEDED]

    def get_errors(self) -> list[ErrorObject | None]:
        """One entry per FAILED item in index order (None where no error was recorded)."""
        return [item.error for item in self.all if item.status is BatchItemStatus.FAILED]

    @property
    def success_count(self) -> int:
        return sum(1 for item in self.all if item.status is BatchItemStatus.SUCCEEDED)

    @property
    def failure_count(self) -> int:
        return sum(1 for item in self.all if item.status is BatchItemStatus.FAILED)

    @property
    def started_count(self) -> int:
        return sum(1 for item in self.all if item.status is BatchItemStatus.STARTED)

    @property
    def total_count(self) -> int:
        """`len(all)`: admitted branches only."""
        return len(self.all)

    @property
    def has_failure(self) -> bool:
        """Whether any item FAILED."""
        return any(item.status is BatchItemStatus.FAILED for item in self.all)

    @property
    def status(self) -> BatchItemStatus:
        """FAILED or SUCCEEDED: a custom decision's outcome, else FAILED iff an item failed."""
        if self.completion_reason is CompletionReason.CUSTOM_COMPLETION_FAILED:
            return BatchItemStatus.FAILED
        if self.completion_reason is CompletionReason.CUSTOM_COMPLETION_SUCCEEDED:
            return BatchItemStatus.SUCCEEDED
        return BatchItemStatus.FAILED if self.has_failure else BatchItemStatus.SUCCEEDED

    def throw_if_error(self) -> None:
        """Raise the batch's failure, if it has one.

        Raises:
            ChildContextError: for the first FAILED item, rebuilt from its ErrorObject
                (`error_type`, `data`, `stack_trace`; `__cause__` is the escaping error
                rebuilt from the registry), the same on the first run and on replay.
            SerDesError: when that item failed to serialize its result.
            BatchCompletionError: no item failed but a custom decision completed the
                batch as failed (CUSTOM_COMPLETION_FAILED).
        """
        first = next((item for item in self.all if item.status is BatchItemStatus.FAILED), None)
        if first is not None:
            if first.error is None:
                raise ChildContextError(message=f"Batch item {first.index} failed without an ErrorObject.")
            raise_operation_error(first.error, ChildContextError)
        if self.completion_reason is CompletionReason.CUSTOM_COMPLETION_FAILED:
            raise BatchCompletionError(self.completion_reason)

    # ------------------------------------------------------------ dict round trip

    def to_dict(self) -> dict[str, Any]:
        """`{"all": [item.to_dict()...], "completionReason": ...}`."""
        return {
            "all": [item.to_dict() for item in self.all],
            "completionReason": self.completion_reason.value,
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], completion_config: CompletionConfig | None = None
    ) -> BatchResult[R]:
        """The result of a `to_dict()` dict (also the official SDK's).

        A missing `completionReason` is inferred from the items with `completion_config`
        (see `from_items`) and logged as a warning.

        Raises:
            ValidationError: unknown status or reason.
        """
        items: list[BatchItem[R]] = [BatchItem.from_dict(item) for item in data["all"]]
        reason = data.get("completionReason")
        if reason is None:
            result: BatchResult[R] = cls.from_items(items, completion_config)
            logger.warning(
                "BatchResult without completionReason: inferred %s from the item statuses",
                result.completion_reason.value,
            )
            return result
        return cls(items, _reason(reason))

    @classmethod
    def from_items(
        cls, items: list[BatchItem[R]], completion_config: CompletionConfig | None = None
    ) -> BatchResult[R]:
        """A result whose reason is inferred from `items` under `completion_config`.

        The declared total is taken to be `len(items)`, so the inference is exact only
        when every declared branch is among the items (the executor, which knows the
        true total, asks the policy directly instead).
        """
        succeeded = sum(1 for item in items if item.status is BatchItemStatus.SUCCEEDED)
        failed = sum(1 for item in items if item.status is BatchItemStatus.FAILED)
        policy = CompletionPolicy.from_config(len(items), completion_config)
        snapshot: tuple[CompletionItemStatus, ...] = ()
        if policy.should_complete is not None:
            snapshot = tuple(CompletionItemStatus(item.index, None, item.status) for item in items)
        return cls(items, policy.reason(succeeded, failed, snapshot))


# ---------------------------------------------------------------------- the envelope


class BatchType(StrEnum):
    """The envelope's `type`: which operation wrote it."""

    MAP = "MapResult"
    PARALLEL = "ParallelResult"

    @property
    def name_prefix(self) -> str:
        """A branch's default name is this prefix followed by its index."""
        return "map-item-" if self is BatchType.MAP else "parallel-branch-"


_EXT = "perdure"
_VERSION = 1


def _size(value: object) -> int:
    # json.dumps escapes non-ASCII by default, so its length is the UTF-8 byte count.
    return len(json.dumps(value))


def _entry_size(key: str, value: object) -> int:
    """Upper bound of what `"key": value, ` adds to a JSON object."""
    return _size(key) + _size(value) + 4


def _fill(
    ext: dict[str, Any], key: str, entries: Iterable[tuple[str, Any]], size: int, max_bytes: int
) -> int:
    """Add `entries` to `ext[key]` one by one while the envelope stays within `max_bytes`."""
    sink: dict[str, Any] = {}
    size += _entry_size(key, sink)
    for entry_key, value in entries:
        cost = _entry_size(entry_key, value)
        if size + cost <= max_bytes:
            sink[entry_key] = value
            size += cost
    if sink:
        ext[key] = sink
    return size


@value_type
class EnvelopeItem:
    """One admitted branch as the envelope records it.

    Attributes:
        index: The branch index.
        status: Its status when the batch completed; None when the envelope does not
            say whether a terminal branch succeeded or failed (an official SDK
            envelope): the branch checkpoint decides.
        name: The recorded name; None when the envelope did not record names.
        error_recorded: Whether `error` is the recorded error of this FAILED item.
        error: The recorded error (None can be the recorded value).
        result_recorded: Whether `result_payload` is this SUCCEEDED item's serialized
            result (deserialize it with the item serdes).
        result_payload: The serialized result.
    """

    index: int
    status: BatchItemStatus | None
    name: str | None = None
    error_recorded: bool = False
    error: ErrorObject | None = None
    result_recorded: bool = False
    result_payload: str | None = None


@value_type
class BatchEnvelope:
    """A decoded batch envelope: what replay needs to rebuild the `BatchResult`.

    Attributes:
        batch_type: MapResult or ParallelResult.
        completion_reason: The recorded reason (replayed verbatim).
        items: The admitted branches in index order.
        declared_count: Branches declared (None when not recorded, e.g. official SDK).
        nesting_type: The nesting type that wrote it (None when not recorded).
        summary: The user summary, if any.
    """

    batch_type: BatchType
    completion_reason: CompletionReason
    items: tuple[EnvelopeItem, ...]
    declared_count: int | None = None
    nesting_type: NestingType | None = None
    summary: str | None = None

    @staticmethod
    def encode(
        result: BatchResult[Any],
        batch_type: BatchType,
        *,
        summary: str | None = None,
        declared_count: int | None = None,
        nesting_type: NestingType | None = None,
        serialize_result: Callable[[BatchItem[Any]], str | None] | None = None,
        max_bytes: int = MAX_OPERATION_PAYLOAD_BYTES,
    ) -> str:
        """The envelope JSON for `result`.

        Always written: the official fields and perdure's statuses (`failed`), declared
        count and nesting. Then, only while the envelope stays within `max_bytes`: the
        names (all or none), then FAILED items' errors and, with `serialize_result`,
        SUCCEEDED items' serialized results, item by item in index order. The
        mandatory part is written even over `max_bytes`; the checkpoint then fails
        with the size limit's error.

        Args:
            result: The live batch result.
            batch_type: MapResult or ParallelResult.
            summary: The user summary (`summary_generator(result)`), stored verbatim.
            declared_count: Branches declared.
            nesting_type: The batch's nesting type.
            serialize_result: `(item) -> payload` with the item serdes; without it no
                result is recorded.
            max_bytes: The budget for the optional parts.

        Returns:
            The JSON text (ASCII, so its length is its UTF-8 size).
        """
        items = result.all
        # Lists hold positions in `all`; they equal the indexes when the admitted
        # branches are the prefix [0, totalCount), as they are when admitted in order.
        started = [pos for pos, item in enumerate(items) if item.status is BatchItemStatus.STARTED]
        completed = [pos for pos, item in enumerate(items) if item.status is not BatchItemStatus.STARTED]
        fields: dict[str, Any] = {
            "type": batch_type.value,
            "totalCount": result.total_count,
            "completionReason": result.completion_reason.value,
        }
        if len(started) <= len(completed):
            fields["startedIndexes"] = started
        else:
            fields["completedIndexes"] = completed
        fields |= {
            "startedCount": result.started_count,
            "successCount": result.success_count,
            "failureCount": result.failure_count,
            "status": result.status.value,
        }
        if summary is not None:
            fields["summary"] = summary if isinstance(summary, str) else str(summary)
        ext: dict[str, Any] = {"v": _VERSION}
        fields[_EXT] = ext
        if declared_count is not None:
            ext["declaredCount"] = declared_count
        if nesting_type is not None:
            ext["nesting"] = nesting_type.value
        if [item.index for item in items] != list(range(len(items))):
            ext["indexes"] = [item.index for item in items]
        ext["failed"] = [pos for pos, item in enumerate(items) if item.status is BatchItemStatus.FAILED]

        size = _size(fields)
        default = batch_type.name_prefix
        names = {str(item.index): item.name for item in items if item.name != f"{default}{item.index}"}
        if size + _entry_size("names", names) <= max_bytes:
            ext["names"] = names
            size += _entry_size("names", names)
        errors = ((str(i.index), to_wire(i.error) if i.error is not None else None) for i in result.failed())
        size = _fill(ext, "errors", errors, size, max_bytes)
        if serialize_result is not None:
            results = ((str(i.index), serialize_result(i)) for i in result.succeeded())
            _fill(ext, "results", results, size, max_bytes)
        return json.dumps(fields)

    @classmethod
    def decode(cls, payload: str | None) -> BatchEnvelope | None:
        """The envelope in `payload`, or None when it is not a valid one.

        Never raises: an empty or non-JSON payload, an unknown `type` or reason, or a
        malformed field gives None (replay then derives every branch from its
        checkpoint and infers the reason). An official SDK envelope decodes with
        undetermined terminal statuses and no names, errors or results.
        """
        try:
            data = json.loads(payload) if payload else None
            return cls._decode(data) if isinstance(data, dict) else None
        except Exception:  # a malformed payload of any shape means "no envelope"
            return None

    @classmethod
    def _decode(cls, data: dict[str, Any]) -> BatchEnvelope | None:
        total = data["totalCount"]
        batch_type = BatchType(data["type"])
        reason = CompletionReason(data["completionReason"])
        raw_ext = data.get(_EXT)
        ext: dict[str, Any] = raw_ext if isinstance(raw_ext, dict) else {}
        if not _is_count(total):
            return None
        indexes = ext.get("indexes", list(range(total)))
        if not _is_list_of_counts(indexes) or len(indexes) != total:
            return None
        if len(set(indexes)) != total:
            return None
        started = _positions(data.get("startedIndexes"), total)
        if started is None:
            completed = _positions(data.get("completedIndexes"), total)
            if completed is None:
                return None
            started = frozenset(range(total)) - completed
        failed = _positions(ext["failed"], total) if "failed" in ext else None
        if "failed" in ext and (failed is None or failed & started):
            return None
        names = ext.get("names")
        errors = ext.get("errors", {})
        results = ext.get("results", {})
        if names is not None and not (
            isinstance(names, dict) and all(v is None or isinstance(v, str) for v in names.values())
        ):
            return None
        if not isinstance(errors, dict):
            return None
        if not isinstance(results, dict):
            return None
        items: list[EnvelopeItem] = []
        for pos, index in enumerate(indexes):
            key = str(index)
            status: BatchItemStatus | None
            if pos in started:
                status = BatchItemStatus.STARTED
            elif failed is None:
                status = None
            else:
                status = BatchItemStatus.FAILED if pos in failed else BatchItemStatus.SUCCEEDED
            error = errors.get(key)
            items.append(
                EnvelopeItem(
                    index=index,
                    status=status,
                    name=names.get(key, f"{batch_type.name_prefix}{index}") if names is not None else None,
                    error_recorded=key in errors,
                    error=from_wire(ErrorObject, error) if isinstance(error, dict) else None,
                    result_recorded=key in results,
                    result_payload=results.get(key),
                )
            )
        declared = ext.get("declaredCount")
        nesting = ext.get("nesting")
        summary = data.get("summary")
        return cls(
            batch_type=batch_type,
            completion_reason=reason,
            items=tuple(items),
            declared_count=declared if _is_count(declared) else None,
            nesting_type=NestingType(nesting) if nesting is not None else None,
            summary=summary if isinstance(summary, str) else None,
        )

    def rebuild(
        self,
        *,
        result_of: Callable[[EnvelopeItem], Any],
        error_of: Callable[[EnvelopeItem], ErrorObject | None],
        status_of: Callable[[EnvelopeItem], BatchItemStatus] | None = None,
    ) -> BatchResult[Any]:
        """The `BatchResult` this envelope records.

        Statuses, names and the reason come from the envelope. Where it does not
        record them: `status_of(item)` gives a terminal item's status (official
        envelopes only: the branch checkpoint's SUCCEEDED/FAILED), `result_of(item)` a
        SUCCEEDED item's result (deserialize `item.result_payload` when
        `item.result_recorded`, else replay the branch), `error_of(item)` a FAILED
        item's error when not `item.error_recorded` (the branch checkpoint's error,
        or a re-run of a FLAT branch).

        Raises:
            ValidationError: a status is undetermined and `status_of` is None.
        """
        out: list[BatchItem[Any]] = []
        for item in self.items:
            status = item.status
            if status is None:
                if status_of is None:
                    raise ValidationError(f"the envelope does not record the status of item {item.index}")
                status = status_of(item)
            if status is BatchItemStatus.SUCCEEDED:
                out.append(BatchItem(item.index, status, result_of(item), None, item.name))
            elif status is BatchItemStatus.FAILED:
                error = item.error if item.error_recorded else error_of(item)
                out.append(BatchItem(item.index, status, None, error, item.name))
            else:
                out.append(BatchItem(item.index, status, None, None, item.name))
        return BatchResult(out, self.completion_reason)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_list_of_counts(value: object) -> bool:
    return isinstance(value, list) and all(_is_count(v) for v in value)


def _positions(raw: object, total: int) -> frozenset[int] | None:
    if not _is_list_of_counts(raw):
        return None
    positions = frozenset(cast(list[int], raw))
    return positions if all(p < total for p in positions) else None


def envelope_summary_generator(
    batch_type: BatchType,
    user_generator: SummaryGenerator | None = None,
    *,
    declared_count: int | None = None,
    nesting_type: NestingType | None = None,
    serialize_result: Callable[[BatchItem[Any]], str | None] | None = None,
    max_bytes: int = MAX_OPERATION_PAYLOAD_BYTES,
) -> Callable[[BatchResult[Any]], str]:
    """The summary generator of a map/parallel CONTEXT: `(result) -> envelope JSON`.

    The user's generator only contributes the `summary` field; an exception it raises
    propagates (and fails the operation).
    """

    def generate(result: BatchResult[Any]) -> str:
        summary = user_generator(result) if user_generator is not None else None
        return BatchEnvelope.encode(
            result,
            batch_type,
            summary=summary,
            declared_count=declared_count,
            nesting_type=nesting_type,
            serialize_result=serialize_result,
            max_bytes=max_bytes,
        )

    return generate


register_batch_result_type(BatchResult)
