"""Properties of the checkpoint batcher (perdure.sdk.batcher), checked with Hypothesis.

A fake service client records every `CheckpointDurableExecution` request. For random
update sizes and counts, random contents (non-ASCII, quotes, control characters, error
objects, invoke options) and a random mix of sync and async callers on several threads:

- no request is over 750 KiB of JSON (measured with `perdure.wire.codec`, the bytes a
  client sends) or over 250 updates; with scaled-down caps, the updates' JSON stays
  within the configured byte cap;
- an update that alone exceeds the byte cap goes alone, once;
- every update is sent exactly once, in each caller's order (and, with one caller, in
  enqueue order); a sync call returns only after the request carrying it was answered;
- every call returns or raises exactly once (none hangs);
- each request carries the token returned by the previous response;
- a failed request fails all its waiters and every later call with the same cause.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perdure.sdk.batcher import BatcherLimits, CheckpointBatcher, estimate_update_bytes
from perdure.sdk.errors import BackgroundThreadError, CheckpointError
from perdure.sdk.state import ExecutionState
from perdure.wire import codec
from perdure.wire.errors import ServiceError
from perdure.wire.limits import MAX_CHECKPOINT_REQUEST_BYTES, MAX_CHECKPOINT_UPDATES
from perdure.wire.types import (
    ChainedInvokeOptions,
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    CheckpointUpdatedExecutionState,
    ErrorObject,
    ExecutionDetails,
    GetDurableExecutionStateRequest,
    GetDurableExecutionStateResponse,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepOptions,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST/durable-execution/exec-1/inv-1"
JOIN_TIMEOUT = 60.0


def request_bytes(request: CheckpointDurableExecutionRequest) -> int:
    """The size of the request body a client sends: perdure's codec writes compact UTF-8
    JSON; boto3 (botocore) escapes every non-ASCII character and puts a space after each
    separator. The larger of the two."""
    return max(len(codec.dumps(request).encode("utf-8")), len(json.dumps(codec.to_wire(request))))


def updates_bytes(request: CheckpointDurableExecutionRequest) -> int:
    """The bytes the updates add to the request (everything but the envelope)."""
    empty = CheckpointDurableExecutionRequest(request.durable_execution_arn, request.checkpoint_token, ())
    return request_bytes(request) - request_bytes(empty)


def update_bytes(update: OperationUpdate) -> int:
    return max(len(codec.dumps(update).encode("utf-8")), len(json.dumps(codec.to_wire(update))))


class RecordingClient:
    """A `DurableServiceClient` that records requests, chains tokens and can fail one request."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.requests: list[CheckpointDurableExecutionRequest] = []
        self.answered: set[str] = set()
        self.tokens = ["t0"]
        self.fail_at = fail_at
        self.lock = threading.Lock()

    def checkpoint_durable_execution(
        self, request: CheckpointDurableExecutionRequest
    ) -> CheckpointDurableExecutionResponse:
        with self.lock:
            index = len(self.requests)
            self.requests.append(request)
            if self.fail_at is not None and index == self.fail_at:
                raise ServiceError(f"request {index} failed")
            token = f"t{index + 1}"
            self.tokens.append(token)
            self.answered.update(u.id for u in request.updates)
        return CheckpointDurableExecutionResponse(
            new_execution_state=CheckpointUpdatedExecutionState(operations=()), checkpoint_token=token
        )

    def get_durable_execution_state(
        self, request: GetDurableExecutionStateRequest
    ) -> GetDurableExecutionStateResponse:
        return GetDurableExecutionStateResponse(operations=())


# ------------------------------------------------------------------------ strategies

# Contents that stress a size estimate: JSON escapes (quotes, backslashes, control
# characters), multi-byte UTF-8, and plain ASCII. A payload is a short chunk repeated.
_chunk = st.one_of(
    st.text(alphabet=st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8),
    st.text(min_size=1, max_size=8),
    st.sampled_from(['"', "\\", "\n", "\x00", "\x1f", "é", "€", "😀", '{"t":"s","v":"x"}']),
)


@st.composite
def payloads(draw: st.DrawFn, max_size: int) -> str | None:
    if draw(st.booleans()):
        return None
    chunk = draw(_chunk)
    size = draw(st.one_of(st.integers(0, 64), st.integers(0, max_size)))
    return (chunk * (size // len(chunk) + 1))[:size]


@st.composite
def updates(draw: st.DrawFn, index: int, max_payload: int) -> OperationUpdate:
    kind = draw(st.sampled_from(["start", "succeed", "fail", "retry", "invoke"]))
    name = draw(st.one_of(st.none(), st.text(min_size=1, max_size=40)))
    parent = draw(st.one_of(st.none(), st.just("p" * 64)))
    uid = f"u{index}"
    if kind == "start":
        return OperationUpdate(uid, OperationType.STEP, OperationAction.START, parent, name, "Step")
    if kind == "succeed":
        payload = draw(payloads(max_payload))
        return OperationUpdate(
            uid, OperationType.STEP, OperationAction.SUCCEED, parent, name, "Step", payload
        )
    if kind == "invoke":
        return OperationUpdate(
            uid,
            OperationType.CHAINED_INVOKE,
            OperationAction.START,
            parent,
            name,
            "ChainedInvoke",
            draw(payloads(max_payload)),
            chained_invoke_options=ChainedInvokeOptions(
                function_name="arn:aws:lambda:us-east-1:123456789012:function:" + "f" * 64 + ":$LATEST",
                tenant_id=draw(st.one_of(st.none(), st.text(max_size=64))),
            ),
        )
    error = ErrorObject(
        error_message=draw(payloads(max_payload // 2)),
        error_type=draw(st.sampled_from(["ValueError", "perdure.sdk.errors.StepError"])),
        error_data=draw(st.one_of(st.none(), payloads(max_payload // 4))),
        stack_trace=tuple(draw(st.lists(st.text(max_size=60), max_size=8))) or None,
    )
    action = OperationAction.FAIL if kind == "fail" else OperationAction.RETRY
    options = StepOptions(next_attempt_delay_seconds=5) if kind == "retry" else None
    return OperationUpdate(
        uid, OperationType.STEP, action, parent, name, "Step", error=error, step_options=options
    )


@dataclass
class Call:
    update: OperationUpdate
    sync: bool
    refresh: bool = False
    """Send `None` (an empty "refresh" request); `update` then only names the call."""


@st.composite
def workloads(draw: st.DrawFn, max_calls: int, max_payload: int, max_threads: int) -> list[list[Call]]:
    """Calls split over 1..max_threads callers, each list in that caller's order."""
    count = draw(st.integers(1, max_calls))
    threads = draw(st.integers(1, max_threads))
    sync_share = draw(st.sampled_from([0.0, 0.1, 0.5, 1.0]))
    split: list[list[Call]] = [[] for _ in range(threads)]
    for i in range(count):
        update = draw(updates(i, max_payload))
        sync = draw(st.floats(0, 1)) < sync_share
        refresh = draw(st.integers(0, 9)) == 0
        split[draw(st.integers(0, threads - 1))].append(Call(update, sync, refresh))
    return [calls for calls in split if calls]


# ------------------------------------------------------------------------- the driver


@dataclass
class Outcome:
    returned: list[str] = field(default_factory=list)
    raised: list[tuple[str, BaseException]] = field(default_factory=list)
    sent_before_return: list[bool] = field(default_factory=list)
    hung: bool = False


def drive(
    client: RecordingClient, workload: list[list[Call]], limits: BatcherLimits
) -> tuple[Outcome, CheckpointBatcher]:
    state = ExecutionState(
        ARN,
        [
            Operation(
                id="inv-1",
                type=OperationType.EXECUTION,
                status=OperationStatus.STARTED,
                start_timestamp=datetime(2026, 1, 1, tzinfo=UTC),
                execution_details=ExecutionDetails(input_payload="{}"),
            )
        ],
    )
    batcher = CheckpointBatcher(client, state, "t0", limits)
    state.checkpointer = batcher
    batcher.start()
    outcome = Outcome()
    lock = threading.Lock()

    def caller(calls: list[Call]) -> None:
        for call in calls:
            try:
                batcher.checkpoint(None if call.refresh else call.update, sync=call.sync)
            except BaseException as exc:
                with lock:
                    outcome.raised.append((call.update.id, exc))
                continue
            with lock:
                outcome.returned.append(call.update.id)
                if call.sync and not call.refresh:
                    with client.lock:
                        outcome.sent_before_return.append(call.update.id in client.answered)

    threads = [threading.Thread(target=caller, args=(calls,), daemon=True) for calls in workload]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT)
        outcome.hung = outcome.hung or t.is_alive()
    batcher.close()
    return outcome, batcher


def check_caps(client: RecordingClient, byte_cap: int, max_updates: int, *, whole_request: bool) -> None:
    for request in client.requests:
        assert len(request.updates) <= max_updates
        size = request_bytes(request) if whole_request else updates_bytes(request)
        if size > byte_cap:
            assert len(request.updates) == 1, (
                f"a request of {len(request.updates)} updates is {size} bytes, over the {byte_cap}-byte cap"
            )


def check_tokens(client: RecordingClient) -> None:
    assert [r.checkpoint_token for r in client.requests] == client.tokens[: len(client.requests)]


def check_order(client: RecordingClient, workload: list[list[Call]], sent_ids: list[str]) -> None:
    position = {uid: i for i, uid in enumerate(sent_ids)}
    for calls in workload:
        mine = [position[c.update.id] for c in calls if c.update.id in position]
        assert mine == sorted(mine), "a caller's updates were sent out of order"
    if len(workload) == 1:
        expected = [c.update.id for c in workload[0] if not c.refresh]
        assert sent_ids == expected[: len(sent_ids)]


FAST = BatcherLimits(max_batch_seconds=0.05, async_linger_seconds=0.002)


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


# ------------------------------------------------------------------------- properties


@_settings(60)
@given(workload=workloads(max_calls=40, max_payload=4000, max_threads=4), cap=st.integers(300, 12_000))
def test_scaled_down_caps_hold_and_every_update_goes_once_in_order(
    workload: list[list[Call]], cap: int
) -> None:
    max_updates = 7
    limits = BatcherLimits(
        max_updates=max_updates, max_bytes=cap, max_batch_seconds=0.05, async_linger_seconds=0.002
    )
    client = RecordingClient()
    outcome, batcher = drive(client, workload, limits)
    assert not outcome.hung, "a checkpoint call never returned"
    assert outcome.raised == []
    sent = [u.id for r in client.requests for u in r.updates]
    expected = sorted(c.update.id for calls in workload for c in calls if not c.refresh)
    assert sorted(sent) == expected, "an update was lost or sent twice"
    calls = sum(len(c) for c in workload)
    assert len(set(outcome.returned)) == len(outcome.returned) == calls
    assert all(outcome.sent_before_return), "a sync call returned before its request was answered"
    check_caps(client, cap, max_updates, whole_request=False)
    check_order(client, workload, sent)
    check_tokens(client)
    assert batcher.checkpoint_token == client.tokens[-1]


@_settings(25)
@given(workload=workloads(max_calls=30, max_payload=300_000, max_threads=3))
def test_real_caps_hold_for_large_payloads(workload: list[list[Call]]) -> None:
    client = RecordingClient()
    outcome, _ = drive(client, workload, FAST)
    assert not outcome.hung
    assert outcome.raised == []
    check_caps(client, MAX_CHECKPOINT_REQUEST_BYTES, MAX_CHECKPOINT_UPDATES, whole_request=True)
    sent = [u.id for r in client.requests for u in r.updates]
    assert sorted(sent) == sorted(c.update.id for calls in workload for c in calls if not c.refresh)
    check_order(client, workload, sent)


@_settings(10)
@given(count=st.integers(251, 700), sync_every=st.integers(0, 300))
def test_many_small_updates_respect_the_update_cap(count: int, sync_every: int) -> None:
    calls = [
        Call(
            OperationUpdate(f"u{i}", OperationType.STEP, OperationAction.START, name="s"),
            sync=bool(sync_every) and i % sync_every == 0,
        )
        for i in range(count)
    ]
    client = RecordingClient()
    outcome, _ = drive(client, [calls], FAST)
    assert not outcome.hung and outcome.raised == []
    check_caps(client, MAX_CHECKPOINT_REQUEST_BYTES, MAX_CHECKPOINT_UPDATES, whole_request=True)
    assert [u.id for r in client.requests for u in r.updates] == [f"u{i}" for i in range(count)]


@_settings(20)
@given(
    before=st.integers(0, 5),
    after=st.integers(0, 5),
    oversize=st.integers(MAX_CHECKPOINT_REQUEST_BYTES + 1, MAX_CHECKPOINT_REQUEST_BYTES + 200_000),
    sync=st.booleans(),
)
def test_an_update_over_the_cap_alone_goes_alone_once(
    before: int, after: int, oversize: int, sync: bool
) -> None:
    def small(i: int) -> Call:
        return Call(OperationUpdate(f"u{i}", OperationType.STEP, OperationAction.SUCCEED, payload="1"), False)

    big = OperationUpdate("big", OperationType.STEP, OperationAction.SUCCEED, payload="x" * oversize)
    calls = [small(i) for i in range(before)] + [Call(big, sync)] + [small(100 + i) for i in range(after)]
    client = RecordingClient()
    outcome, _ = drive(client, [calls], FAST)
    assert not outcome.hung and outcome.raised == []
    carrying = [r for r in client.requests if any(u.id == "big" for u in r.updates)]
    assert len(carrying) == 1, "the oversize update was not sent exactly once"
    assert [u.id for u in carrying[0].updates] == ["big"]
    assert [u.id for r in client.requests for u in r.updates] == [c.update.id for c in calls]


@_settings(40)
@given(
    workload=workloads(max_calls=25, max_payload=2000, max_threads=3),
    fail_at=st.integers(0, 6),
    cap=st.integers(400, 6000),
)
def test_a_failed_request_fails_its_waiters_and_every_later_call(
    workload: list[list[Call]], fail_at: int, cap: int
) -> None:
    limits = BatcherLimits(max_updates=5, max_bytes=cap, max_batch_seconds=0.05, async_linger_seconds=0.002)
    client = RecordingClient(fail_at=fail_at)
    outcome, batcher = drive(client, workload, limits)
    assert not outcome.hung, "a checkpoint call never returned after a failure"
    calls = {c.update.id: c for calls in workload for c in calls}
    assert len(outcome.returned) + len(outcome.raised) == len(calls), "a call returned or raised twice"
    if len(client.requests) <= fail_at:
        assert outcome.raised == [] and batcher.failure is None
        return
    failure = batcher.failure
    assert failure is not None
    assert isinstance(failure.source_exception, CheckpointError)
    assert "request" in str(failure.source_exception)
    failed_ids = {u.id for u in client.requests[fail_at].updates}
    answered = client.answered
    assert len(client.requests) == fail_at + 1, "a request was sent after a failed one"
    for uid, exc in outcome.raised:
        assert isinstance(exc, BackgroundThreadError)
        assert exc is failure, "a caller saw a different error than the failure"
        assert uid not in answered
    raised_ids = {uid for uid, _ in outcome.raised}
    for uid in failed_ids:
        if calls[uid].sync:
            assert uid in raised_ids, "a sync waiter of the failed request was released without the error"
    for uid in outcome.returned:
        if calls[uid].sync and not calls[uid].refresh:
            assert uid in answered, "a sync call returned although its update was never persisted"
    with pytest.raises(BackgroundThreadError) as later:
        batcher.checkpoint(OperationUpdate("late", OperationType.STEP, OperationAction.START), sync=False)
    assert later.value is failure


@_settings(300)
@given(update=st.integers(0, 10).flatmap(lambda i: updates(i, 3000)))
def test_the_size_estimate_is_an_upper_bound_of_the_wire_json(update: OperationUpdate) -> None:
    # +1: the comma between two updates in the request's Updates list.
    assert estimate_update_bytes(update) >= update_bytes(update) + 1


@pytest.mark.parametrize(
    "payload",
    [
        # A pass-through serdes carrying CSV text: one newline (escaped as two bytes) every
        # ten characters. Eleven 64 KiB payloads are estimated at ~706 KiB but weigh ~776 KB.
        pytest.param("col1,col2\n" * 6_553, id="newlines"),
        # 3 bytes a character in UTF-8, 6 on the wire (\uXXXX): twelve 64 KiB-character
        # payloads weigh ~4.7 MB as boto3 sends them.
        pytest.param("漢" * 65_536, id="non-ascii"),
    ],
)
def test_twelve_large_payloads_stay_under_the_cap_as_boto3_sends_them(payload: str) -> None:
    calls = [
        Call(OperationUpdate(f"u{i}", OperationType.STEP, OperationAction.SUCCEED, payload=payload), False)
        for i in range(12)
    ]
    client = RecordingClient()
    outcome, _ = drive(client, [calls], FAST)
    assert not outcome.hung and outcome.raised == []
    check_caps(client, MAX_CHECKPOINT_REQUEST_BYTES, MAX_CHECKPOINT_UPDATES, whole_request=True)


def test_the_request_size_helper_measures_the_wire_json() -> None:
    update = OperationUpdate("a", OperationType.STEP, OperationAction.SUCCEED, payload='é"\n')
    request = CheckpointDurableExecutionRequest(ARN, "tok", (update,))
    text = codec.dumps(request)
    assert len(text.encode()) <= request_bytes(request) == len(json.dumps(codec.to_wire(request)))
    assert '"Payload":"é\\"\\n"' in text
    assert '"Payload": "\\u00e9\\"\\n"' in json.dumps(codec.to_wire(request))  # as boto3 sends it
    assert update_bytes(update) < updates_bytes(request) + 2
