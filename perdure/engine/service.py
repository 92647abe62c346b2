"""`EngineService`: the engine's one implementation of `perdure.wire.service.DurableExecutionService`.

Every call is one store transaction. The in-process SDK link passes this object as its
client, so `checkpoint_durable_execution` runs on the SDK's checkpoint thread while the
scheduler waits for the invocation; the store serialises them. Imports only
`perdure.wire`, `perdure.engine` internals and the standard library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime

from perdure.engine import idempotency, lifecycle, tokens
from perdure.engine.clock import Clock
from perdure.engine.errors import UnknownFunctionError
from perdure.engine.processors import Batch, apply_updates, callback
from perdure.engine.processors._base import StartExecution, check_error_size
from perdure.engine.registry import FunctionRegistry, RegisteredFunction, function_name_of
from perdure.engine.store import ExecutionQuery, ExecutionRecord, OperationSummary, Store, StoreTx
from perdure.wire import limits
from perdure.wire.codec import to_wire
from perdure.wire.errors import (
    INVALID_CHECKPOINT_TOKEN,
    InvalidParameterValueError,
    ResourceConflictError,
    ResourceNotFoundError,
)
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    CheckpointUpdatedExecutionState,
    Event,
    EventDetails,
    EventError,
    EventInput,
    EventResult,
    Execution,
    ExecutionStatus,
    GetDurableExecutionHistoryRequest,
    GetDurableExecutionHistoryResponse,
    GetDurableExecutionRequest,
    GetDurableExecutionResponse,
    GetDurableExecutionStateRequest,
    GetDurableExecutionStateResponse,
    InvocationInput,
    InvocationOutput,
    InvokeRequest,
    InvokeResponse,
    ListDurableExecutionsByFunctionRequest,
    ListDurableExecutionsByFunctionResponse,
    Operation,
    OperationType,
    SendDurableExecutionCallbackFailureRequest,
    SendDurableExecutionCallbackHeartbeatRequest,
    SendDurableExecutionCallbackSuccessRequest,
    StopDurableExecutionRequest,
    StopDurableExecutionResponse,
)

DEFAULT_PAGE = 1000
_EXECUTION = OperationType.EXECUTION
"""Read once (on Python 3.11 a read from the enum class goes through `EnumType.__getattr__`)."""


def _page_size(max_items: int | None, limit: int = limits.MAX_STATE_PAGE) -> int:
    if max_items is None or max_items == 0:
        return min(DEFAULT_PAGE, limit)
    if not 1 <= max_items <= limit:
        raise InvalidParameterValueError(f"MaxItems={max_items} is outside 0..{limit}")
    return max_items


_CHANGES_PREFIX = "c"
"""A checkpoint response's NextMarker: `c<after>-<upto>`, the changes numbered in
`(after, upto]` not yet reported (get-state pages them in change order)."""


def _changes_marker(after: int, upto: int) -> str:
    return f"{_CHANGES_PREFIX}{after}-{upto}"


_MARKER_NUMBER_RE = re.compile(r"0|[1-9][0-9]{0,18}")


def _refused_marker(marker: str) -> InvalidParameterValueError:
    shown = marker if len(marker) <= 40 else f"{marker[:37]}..."
    return InvalidParameterValueError(f"Marker {shown!r} is not a marker this service returned")


def _marker_number(text: str, marker: str) -> int:
    """A number in a marker: decimal digits as the service writes them, at most `MAX_MARKER`."""
    if _MARKER_NUMBER_RE.fullmatch(text) is None or int(text) > limits.MAX_MARKER:
        raise _refused_marker(marker)
    return int(text)


def _parse_changes_marker(marker: str) -> tuple[int, int]:
    after, sep, upto = marker[len(_CHANGES_PREFIX) :].partition("-")
    bounds = (_marker_number(after, marker), _marker_number(upto, marker)) if sep else None
    if bounds is None or not bounds[0] < bounds[1]:
        raise _refused_marker(marker)
    return bounds


def _marker(marker: str | None) -> int | None:
    return None if marker is None else _marker_number(marker, marker)


def _stale_token_message(rec: ExecutionRecord, token: str | None = None) -> str:
    """Why a checkpoint token is refused, starting with the phrase the SDKs look for."""
    if token is not None and tokens.is_current(token, rec.revoked_token):
        return (
            f"{INVALID_CHECKPOINT_TOKEN}: the token was revoked when execution {rec.arn} ended"
            f" ({rec.status.value}) while its invocation ran"
        )
    if not rec.is_running:
        return (
            f"{INVALID_CHECKPOINT_TOKEN}: execution {rec.arn} is {rec.status.value}; no invocation is running"
        )
    if rec.checkpoint_token is None:
        return f"{INVALID_CHECKPOINT_TOKEN}: the token is stale or unknown for this execution (no invocation is running)"
    return f"{INVALID_CHECKPOINT_TOKEN}: the token is stale or unknown for this execution"


def _without_data(event: Event) -> Event:
    """The event with its payloads left out (IncludeExecutionData false)."""
    d = event.details
    if d.input is None and d.result is None and d.error is None:
        return event
    details: EventDetails = replace(
        d,
        input=None if d.input is None else EventInput(truncated=d.input.truncated),
        result=None if d.result is None else EventResult(truncated=d.result.truncated),
        error=None if d.error is None else EventError(truncated=d.error.truncated),
    )
    return replace(event, details=details)


def _runs_elsewhere(input: InvocationInput, context: object) -> InvocationOutput:
    """The invocable of a function another worker registered: this worker never claims its
    executions (it claims only its own functions'), so this is never called."""
    raise UnknownFunctionError(f"{input.durable_execution_arn} runs on another worker")


class EngineService:
    """The local durable-execution service over a `Store`.

    Args:
        store: where executions live.
        clock: every time read.
        registry: the functions `invoke` may start.
        max_operations: operations allowed per execution (AWS: 3,000).
        execution_timeout: the ExecutionTimeout recorded on new executions, in seconds.
        on_change: called (with no lock held) after anything that may make work runnable.
        run_to_completion: blocks until an execution ends; used by `invoke(RequestResponse)`.
        state_page_bytes: the most a state page holds, as JSON (see `limits.STATE_PAGE_BYTES`).
        functions_elsewhere: the functions workers of a shared store registered, live or
            not (an execution of one of them may be started here: a worker that has it runs
            it, when one is live).
    """

    answers_in_process = True  # see `DurableServiceClient`: a local commit, never on perdure's loop

    def __init__(
        self,
        store: Store,
        clock: Clock,
        registry: FunctionRegistry,
        *,
        max_operations: int = limits.DEFAULT_MAX_OPERATIONS,
        execution_timeout: int = lifecycle.DEFAULT_EXECUTION_TIMEOUT_SECONDS,
        on_change: Callable[[], None] | None = None,
        run_to_completion: Callable[[str], object] | None = None,
        state_page_bytes: int = limits.STATE_PAGE_BYTES,
        functions_elsewhere: Callable[[], Collection[str]] | None = None,
    ) -> None:
        if state_page_bytes < 1:
            raise ValueError("state_page_bytes must be >= 1")
        if max_operations < 1:
            raise ValueError("max_operations must be >= 1")
        try:
            lifecycle.check_execution_timeout(execution_timeout)
        except InvalidParameterValueError as exc:
            raise ValueError(f"execution_timeout: {exc}") from None
        self.store = store
        self.clock = clock
        self.registry = registry
        self.max_operations = max_operations
        self.execution_timeout = execution_timeout
        self.on_change = on_change
        self.run_to_completion = run_to_completion
        self.state_page_bytes = state_page_bytes
        self.functions_elsewhere = functions_elsewhere

    def _function(self, name_or_arn: str) -> RegisteredFunction:
        """The function an execution is started for: registered here, or (on a store many
        workers share) by another worker, live or not, which runs it (when one is live).

        Raises:
            UnknownFunctionError: no worker ever registered it.
        """
        try:
            return self.registry.resolve(name_or_arn)
        except UnknownFunctionError:
            name = function_name_of(name_or_arn)
            if self.functions_elsewhere is None or name not in self.functions_elsewhere():
                raise
            return RegisteredFunction(name, _runs_elsewhere)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    @staticmethod
    def _execution(tx: StoreTx, arn: str, *, read_only: bool = False) -> ExecutionRecord:
        """The execution (locked for this transaction's writes unless `read_only`).

        Raises:
            ResourceNotFoundError: no such execution.
        """
        rec = tx.peek_execution(arn) if read_only else tx.get_execution(arn)
        if rec is None:
            raise ResourceNotFoundError(f"durable execution {arn!r} not found")
        return rec

    # ------------------------------------------------------------- starting

    def start_execution(
        self,
        function_name: str,
        input_payload: str | None,
        execution_name: str | None = None,
        execution_timeout: int | None = None,
    ) -> tuple[str, bool]:
        """Start (or find by name) an execution of a registered function.

        Args:
            execution_timeout: its ExecutionTimeout in seconds (None: the service's default).

        Returns:
            (the execution ARN, whether it was created by this call).

        Raises:
            UnknownFunctionError, DurableExecutionAlreadyStartedError, InvalidParameterValueError.
        """
        function = self._function(function_name)
        timeout = self.execution_timeout if execution_timeout is None else execution_timeout
        rec, created = self.store.run(
            lambda tx: lifecycle.start_execution(
                tx, self.clock.now(), function, input_payload, execution_name, timeout
            )
        )
        if created:
            self._changed()
        return rec.arn, created

    def invoke(self, request: InvokeRequest) -> InvokeResponse:
        """`Invoke`: start the execution; for RequestResponse, wait (`run_to_completion`) and
        answer with its outcome (`invoke_response`), for Event answer 202 at once.

        A caller that must not block a thread calls `start_invoke`, awaits
        `Engine.when_finished(arn)`, then `invoke_response(arn)`.
        """
        arn = self.start_invoke(request)
        if request.invocation_type == "Event":
            return InvokeResponse(status_code=202, durable_execution_arn=arn, executed_version="$LATEST")
        if self.run_to_completion is not None:
            self.run_to_completion(arn)
        return self.invoke_response(arn)

    def start_invoke(self, request: InvokeRequest) -> str:
        """Start (or find by DurableExecutionName) the execution an `Invoke` asks for; its ARN.

        Raises:
            ResourceNotFoundError: no such function.
            InvalidParameterValueError: a non-UTF-8 payload, a malformed name, an oversized input.
            DurableExecutionAlreadyStartedError: the name was used with another input.
        """
        try:
            payload = None if request.payload is None else request.payload.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidParameterValueError("Payload is not valid UTF-8") from None
        try:
            arn, _ = self.start_execution(request.function_name, payload, request.durable_execution_name)
        except UnknownFunctionError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        return arn

    def invoke_response(self, arn: str) -> InvokeResponse:
        """A RequestResponse `Invoke`'s answer for execution `arn` as it stands: 200 with the
        result, 200 with the error and `Unhandled`, or 202 while it still runs."""
        with self.store.transaction() as tx:
            rec = self._execution(tx, arn, read_only=True)
        if rec.status is ExecutionStatus.SUCCEEDED:
            body = None if rec.result is None else rec.result.encode("utf-8")
            return InvokeResponse(200, arn, "$LATEST", body)
        if rec.status is ExecutionStatus.RUNNING:
            return InvokeResponse(202, arn, "$LATEST")
        error = json.dumps(to_wire(rec.error)) if rec.error is not None else "{}"
        return InvokeResponse(200, arn, "$LATEST", error.encode("utf-8"), function_error="Unhandled")

    # ----------------------------------------------------------- checkpoints

    def checkpoint_durable_execution(
        self, request: CheckpointDurableExecutionRequest
    ) -> CheckpointDurableExecutionResponse:
        """Apply one checkpoint request atomically (see docs/engine.md).

        A request with a `ClientToken` is idempotent: the same request again (with the token
        it was first sent with, now stale) gets the first response and changes nothing; the
        same ClientToken on another request is refused.

        Raises:
            InvalidParameterValueError: a stale or unknown token (`Invalid checkpoint token: ...`),
                an update that breaks a rule, a reused ClientToken.
            ResourceNotFoundError: no such execution.
        """
        now = self.clock.now()
        client_token = request.client_token
        digest = None if client_token is None else idempotency.request_digest(request)

        def apply(tx: StoreTx) -> tuple[CheckpointDurableExecutionResponse, list[str]]:
            rec = self._execution(tx, request.durable_execution_arn)
            if client_token is not None and digest is not None:
                replayed = idempotency.replay(tx, rec, client_token, digest)
                if replayed is not None:
                    return replayed, []
            valid = tokens.is_current(request.checkpoint_token, rec.checkpoint_token)
            if valid and rec.request_id is not None and tx.holds_lease(rec.key, rec.request_id) is False:
                # Fencing: the invocation's lease expired (its worker paused or lost the
                # database), so another worker may run the execution now; nothing is applied.
                raise InvalidParameterValueError(
                    f"{INVALID_CHECKPOINT_TOKEN}: the lease of invocation {rec.request_id} of {rec.arn}"
                    " expired; the execution is recovered and invoked again"
                )
            # Its timers already due fire now (the scheduler may not have got to them yet):
            # this response reports them, as AWS reports a timer that fired.
            if valid and lifecycle.fire_due_timers_of(tx, now, rec):
                rec = self._execution(tx, request.durable_execution_arn)
                valid = tokens.is_current(request.checkpoint_token, rec.checkpoint_token)
            if tokens.is_current(request.checkpoint_token, rec.revoked_token):
                # The service ended the execution while this invocation ran: answer without a
                # token (the SDK then suspends and returns PENDING); nothing is applied.
                response = CheckpointDurableExecutionResponse(CheckpointUpdatedExecutionState(), None)
                if client_token is not None and digest is not None:
                    idempotency.record(tx, rec, client_token, digest, response)
                return response, []
            current = rec.checkpoint_token
            if current is None or not valid:  # `valid`: the token is `current` (checked above)
                raise InvalidParameterValueError(_stale_token_message(rec))
            # What the service changed since the previous token (timers fired, retries made
            # READY, callbacks and chained invokes completed, another process's writes): one
            # indexed range read, and none at all when nothing changed (the usual step).
            since, upto = rec.reported_seq, rec.change_seq
            service: list[tuple[int, Operation]] = []
            if upto > since:
                tx.prune_changes(rec.key, since)  # reported by earlier responses (and their pages)
                service = tx.operations_changed(rec.key, since, upto, DEFAULT_PAGE + 1)
            started: list[str] = []
            # Positional (start_execution, is_request=True after the limit): a class called
            # with keywords first packs them into a dict.
            batch = Batch(tx, rec, now, self.max_operations, self._starter(tx, now, started), True)
            apply_updates(batch, request.updates)
            token = None if rec.closing_status is not None else tokens.next_token(current)
            rec.checkpoint_token = token
            # Every change is now reported (the rest of an over-long set through NextMarker,
            # which the SDK pages with the new token).
            rec.reported_seq = upto
            batch.flush(final=True)  # `rec` is not changed after this
            marker = None
            if len(service) > DEFAULT_PAGE:
                service = service[:DEFAULT_PAGE]
                marker = _changes_marker(service[-1][0], upto)
            changed = batch.changed
            if service:
                merged = {op.id: op for _, op in service}
                merged.update(changed)  # the request's own changes: the latest state
                changed = merged
            operations = tuple([op for op in changed.values() if op.type is not _EXECUTION])
            # Positional (the new state's operations and marker, the token): on Python 3.11 a
            # class called with keywords first packs them into a dict.
            response = CheckpointDurableExecutionResponse(
                CheckpointUpdatedExecutionState(operations, marker), token
            )
            if client_token is not None and digest is not None:
                idempotency.record(tx, rec, client_token, digest, response)
            return response, started

        response, started = self.store.run(apply)
        if started:
            self._changed()  # a chained invoke started an execution: the scheduler may run it now
        return response

    def _starter(self, tx: StoreTx, now: datetime, started: list[str]) -> StartExecution:
        """Starts chained invoke targets inside the checkpoint's transaction (a rejected
        request rolls them back too); the ARNs it creates are appended to `started`."""

        def start(
            function_name: str, input_payload: str | None, execution_name: str
        ) -> tuple[ExecutionRecord, bool]:
            function = self._function(function_name)
            child, created = lifecycle.start_execution(
                tx, now, function, input_payload, execution_name, self.execution_timeout
            )
            if created:
                started.append(child.arn)
            return child, created

        return start

    def get_durable_execution_state(
        self, request: GetDurableExecutionStateRequest
    ) -> GetDurableExecutionStateResponse:
        size = _page_size(request.max_items)
        changes = request.marker is not None and request.marker.startswith(_CHANGES_PREFIX)
        if changes:
            assert request.marker is not None
            change_after, change_upto = _parse_changes_marker(request.marker)
        else:
            after = _marker(request.marker)
        with self.store.transaction() as tx:
            rec = self._execution(tx, request.durable_execution_arn, read_only=True)
            if not tokens.is_of_invocation(request.checkpoint_token, rec.checkpoint_token):
                raise InvalidParameterValueError(_stale_token_message(rec, request.checkpoint_token))
            if changes:
                # The rest of a checkpoint response's changes (its NextMarker).
                page = tx.operations_changed(rec.key, change_after, change_upto, size + 1)
                marker = _changes_marker(page[size - 1][0], change_upto) if len(page) > size else None
                operations = tuple(op for _, op in page[:size] if op.type is not OperationType.EXECUTION)
            else:
                operations, marker = lifecycle.operations_page(
                    tx, rec.key, after, size, self.state_page_bytes
                )
        return GetDurableExecutionStateResponse(operations=operations, next_marker=marker)

    # --------------------------------------------------------------- reading

    def get_durable_execution(self, request: GetDurableExecutionRequest) -> GetDurableExecutionResponse:
        with self.store.transaction() as tx:
            rec = self._execution(tx, request.durable_execution_arn, read_only=True)
        return GetDurableExecutionResponse(
            durable_execution_arn=rec.arn,
            durable_execution_name=rec.name,
            function_arn=rec.function_arn,
            status=rec.status,
            start_timestamp=rec.start_timestamp,
            input_payload=rec.input_payload,
            result=rec.result,
            error=rec.error,
            end_timestamp=rec.end_timestamp,
            version="$LATEST",
        )

    def get_durable_execution_history(
        self, request: GetDurableExecutionHistoryRequest
    ) -> GetDurableExecutionHistoryResponse:
        size = _page_size(request.max_items)
        after = _marker(request.marker)
        reverse = bool(request.reverse_order)
        with self.store.transaction() as tx:
            rec = self._execution(tx, request.durable_execution_arn, read_only=True)
            events = tx.list_events(rec.key, after, size + 1, reverse)
        marker = str(events[size - 1].event_id) if len(events) > size else None
        page = events[:size]
        if not request.include_execution_data:
            page = [_without_data(e) for e in page]
        return GetDurableExecutionHistoryResponse(events=tuple(page), next_marker=marker)

    def list_durable_executions_by_function(
        self, request: ListDurableExecutionsByFunctionRequest
    ) -> ListDurableExecutionsByFunctionResponse:
        size = _page_size(request.max_items)
        query = ExecutionQuery(
            function_name=function_name_of(request.function_name),
            name=request.durable_execution_name,
            statuses=request.statuses,
            started_after=request.started_after,
            started_before=request.started_before,
            reverse=bool(request.reverse_order),
            after_key=_marker(request.marker),
            limit=size + 1,
        )
        with self.store.transaction() as tx:
            records = tx.list_executions(query)
        marker = str(records[size - 1].key) if len(records) > size else None
        return ListDurableExecutionsByFunctionResponse(
            durable_executions=tuple(
                Execution(
                    durable_execution_arn=r.arn,
                    durable_execution_name=r.name,
                    function_arn=r.function_arn,
                    status=r.status,
                    start_timestamp=r.start_timestamp,
                    end_timestamp=r.end_timestamp,
                )
                for r in records[:size]
            ),
            next_marker=marker,
        )

    # ---------------------------------------------------------------- reading

    def list_executions(self, query: ExecutionQuery) -> list[ExecutionRecord]:
        """One keyset page of executions across functions (the console's list; see
        `ExecutionQuery`). The next page starts after the last record's `key`."""
        with self.store.transaction() as tx:
            return tx.list_executions(query)

    def function_names(self) -> list[str]:
        """Every function with executions in the store (registered here or not), sorted."""
        with self.store.transaction() as tx:
            return tx.function_names()

    def execution_record(self, arn: str) -> ExecutionRecord:
        """The stored record of an execution.

        Raises:
            ResourceNotFoundError: no such execution.
        """
        with self.store.transaction() as tx:
            return self._execution(tx, arn, read_only=True)

    def operation_summaries(
        self, arn: str, *, after_seq: int = 0, limit: int | None = None
    ) -> tuple[ExecutionRecord, list[tuple[int, OperationSummary]]]:
        """An execution's record and its operations without payloads, in checkpoint order,
        as (seq, summary), read in one transaction (default `limit`: every operation an
        execution may have).

        Raises:
            ResourceNotFoundError: no such execution.
        """
        size = limit if limit is not None else self.max_operations + 1
        with self.store.transaction() as tx:
            rec = self._execution(tx, arn, read_only=True)
            return rec, tx.operation_summaries(rec.key, after_seq, size)

    def get_operation(self, arn: str, operation_id: str) -> Operation:
        """One operation of an execution, with its payloads.

        Raises:
            ResourceNotFoundError: no such execution, or no such operation in it.
        """
        with self.store.transaction() as tx:
            rec = self._execution(tx, arn, read_only=True)
            op = tx.get_operation(rec.key, operation_id)
        if op is None:
            raise ResourceNotFoundError(f"operation {operation_id!r} not found in {arn!r}")
        return op

    # -------------------------------------------------------------- stopping

    def stop_durable_execution(self, request: StopDurableExecutionRequest) -> StopDurableExecutionResponse:
        """End a RUNNING execution STOPPED with the request's error (see `lifecycle.terminate`).

        Raises:
            InvalidParameterValueError: the error is over `limits.MAX_ERROR_BYTES`.
            ResourceNotFoundError: no such execution.
            ResourceConflictError: it is not RUNNING.
        """
        check_error_size(request.error)
        now = self.clock.now()

        def stop(tx: StoreTx) -> None:
            rec = self._execution(tx, request.durable_execution_arn)
            if not rec.is_running:
                raise ResourceConflictError(
                    f"durable execution {rec.arn!r} is already {rec.status.value}; only a RUNNING one can stop"
                )
            lifecycle.stop_execution(tx, now, rec, request.error)

        self.store.run(stop)
        self._changed()
        return StopDurableExecutionResponse(stop_timestamp=now)

    # ------------------------------------------------------------- callbacks

    # Each call resolves the id to its execution and CALLBACK operation (see
    # `perdure.engine.processors.callback`) and applies the transition in one transaction;
    # a refused call changes nothing.

    def send_durable_execution_callback_success(
        self, request: SendDurableExecutionCallbackSuccessRequest
    ) -> None:
        """Complete a callback with `Result` (at most 256 KiB, stored verbatim as UTF-8 text).

        Raises:
            InvalidParameterValueError: a malformed id; an oversized or non-UTF-8 result.
            ResourceNotFoundError: the id names no callback.
            CallbackTimeoutServiceError: the callback is closed (timed out, completed, execution ended).
        """
        raw = request.result
        if raw is not None and len(raw) > limits.MAX_OPERATION_PAYLOAD_BYTES:
            raise InvalidParameterValueError(
                f"Result is {len(raw)} bytes, over the {limits.MAX_OPERATION_PAYLOAD_BYTES}-byte callback"
                " result limit"
            )
        try:
            result = None if raw is None else raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidParameterValueError("Result is not valid UTF-8") from None
        self._callback_transition(
            request.callback_id, lambda batch, op, _: callback.succeed(batch, op, result)
        )

    def send_durable_execution_callback_failure(
        self, request: SendDurableExecutionCallbackFailureRequest
    ) -> None:
        """Fail a callback with `Error` (recorded verbatim).

        Raises:
            InvalidParameterValueError: a malformed id; an oversized error.
            ResourceNotFoundError: the id names no callback.
            CallbackTimeoutServiceError: the callback is closed (timed out, completed, execution ended).
        """
        error = request.error
        check_error_size(error)
        self._callback_transition(request.callback_id, lambda batch, op, _: callback.fail(batch, op, error))

    def send_durable_execution_callback_heartbeat(
        self, request: SendDurableExecutionCallbackHeartbeatRequest
    ) -> None:
        """Keep a callback alive: its heartbeat timeout starts again from now.

        Raises:
            InvalidParameterValueError: a malformed id.
            ResourceNotFoundError: the id names no callback.
            CallbackTimeoutServiceError: the callback is closed (timed out, completed, execution ended).
        """
        self._callback_transition(
            request.callback_id, lambda batch, op, ref: callback.heartbeat(batch, op, ref.heartbeat_seconds)
        )

    def _callback_transition(
        self, callback_id: str, transition: Callable[[Batch, Operation, callback.CallbackRef], None]
    ) -> None:
        """Resolve `callback_id` and apply `transition` to its CALLBACK in one transaction."""
        now = self.clock.now()

        def apply(tx: StoreTx) -> None:
            rec, op, ref = callback.resolve(tx, callback_id)
            batch = Batch(tx, rec, now).not_before_latest_event()
            transition(batch, op, ref)
            batch.flush()

        self.store.run(apply)
        self._changed()
