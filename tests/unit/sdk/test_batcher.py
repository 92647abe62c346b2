"""perdure.sdk.batcher: batching caps, ordering, sync flushing, token chaining and failures."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from perdure.sdk.batcher import BatcherLimits, CheckpointBatcher, estimate_update_bytes
from perdure.sdk.clock import SYSTEM_CLOCK, Clock
from perdure.sdk.errors import (
    BackgroundThreadError,
    CheckpointError,
    OrphanedChildException,
    SuspendExecution,
)
from perdure.sdk.state import ExecutionState
from perdure.wire.errors import InvalidParameterValueError, ServiceError
from perdure.wire.types import OperationAction, OperationStatus, OperationType, OperationUpdate

from .fakes import ARN, FakeService


def _start(i: int, payload: str | None = None, parent: str | None = None) -> OperationUpdate:
    return OperationUpdate(
        f"s{i}", OperationType.STEP, OperationAction.START, parent_id=parent, payload=payload
    )


def _succeed(i: int, payload: str = "1") -> OperationUpdate:
    return OperationUpdate(f"s{i}", OperationType.STEP, OperationAction.SUCCEED, payload=payload)


def _batcher(
    service: FakeService, clock: Clock = SYSTEM_CLOCK, **limits: object
) -> tuple[CheckpointBatcher, ExecutionState]:
    state = ExecutionState(ARN, service.operations(), clock=clock)
    batcher = CheckpointBatcher(service, state, service.token, BatcherLimits(**limits))  # type: ignore[arg-type]
    state.checkpointer = batcher
    return batcher.start(), state


def test_async_start_rides_with_the_sync_succeed() -> None:
    service = FakeService()
    batcher, state = _batcher(service)
    batcher.checkpoint(_start(1), sync=False)
    batcher.checkpoint(_succeed(1), sync=True)
    assert state.get("s1").status is OperationStatus.SUCCEEDED  # type: ignore[union-attr]
    batcher.close()
    assert [len(r.updates) for r in service.requests] == [2]
    assert batcher.checkpoint_token == service.token


def test_update_count_cap_and_order() -> None:
    service = FakeService()
    batcher, _ = _batcher(service, max_updates=3)
    for i in range(7):
        batcher.checkpoint(_start(i), sync=False)
    batcher.checkpoint(_succeed(0), sync=True)
    batcher.close()
    sent = [u.id for r in service.requests for u in r.updates]
    assert sent == [f"s{i}" for i in range(7)] + ["s0"]
    assert all(len(r.updates) <= 3 for r in service.requests)


def test_byte_cap_and_oversized_update_goes_alone() -> None:
    service = FakeService()
    batcher, _ = _batcher(service, max_bytes=2000)
    batcher.checkpoint(_start(1, payload="x" * 900), sync=False)
    batcher.checkpoint(_start(2, payload="y" * 900), sync=False)
    batcher.checkpoint(_start(3, payload="z" * 5000), sync=False)
    batcher.checkpoint(_succeed(1), sync=True)
    batcher.close()
    sizes = [[u.id for u in r.updates] for r in service.requests]
    assert ["s3"] in sizes
    for request in service.requests:
        if len(request.updates) > 1:
            assert sum(estimate_update_bytes(u) for u in request.updates) <= 2000


def test_size_estimate_counts_utf8_and_escapes() -> None:
    ascii_update = _start(1, payload='"' * 100)
    wide_update = _start(1, payload="é" * 100)
    assert estimate_update_bytes(ascii_update) - estimate_update_bytes(_start(1)) == 200
    # boto3 escapes non-ASCII text: "é" travels as \u00e9, 6 bytes.
    assert estimate_update_bytes(wide_update) - estimate_update_bytes(_start(1)) == 600
    # Short text is counted at its worst case (12 bytes a character), never under its size.
    for short in ("é" * 10, "\x01" * 64, "\U0001f600" * 64):
        escaped = len(json.dumps(short).encode()) - 2  # the quotes are in the per-update allowance
        assert estimate_update_bytes(_start(1, payload=short)) - estimate_update_bytes(_start(1)) >= escaped


def test_sync_caller_is_flushed_without_the_async_linger() -> None:
    service = FakeService()
    batcher, _ = _batcher(service, async_linger_seconds=30.0, max_batch_seconds=60.0)
    done = threading.Event()

    def call() -> None:
        batcher.checkpoint(_succeed(1), sync=True)
        done.set()

    threading.Thread(target=call).start()
    assert done.wait(5), "a sync checkpoint waited for the async timer"
    batcher.close()


def test_failed_send_fails_waiters_and_later_calls() -> None:
    service = FakeService()
    service.fail_next = ServiceError("down")
    batcher, _ = _batcher(service)
    with pytest.raises(BackgroundThreadError) as info:
        batcher.checkpoint(_succeed(1), sync=True)
    source = info.value.source_exception
    assert isinstance(source, CheckpointError) and source.is_retryable()
    with pytest.raises(BackgroundThreadError):
        batcher.checkpoint(_start(2), sync=False)
    batcher.close()


def test_a_fault_of_the_writer_itself_fails_its_waiters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever breaks the writer thread (here its clock, when it takes an update from the
    queue), the sync caller and every later call fail; none waits forever. (The queue is
    more than one request, so the sync caller waits on the writer instead of sending.)"""

    class BrokenClock:
        def time(self) -> float:
            return time.time()

        def monotonic(self) -> float:
            raise RuntimeError("clock broke (injected)")

    service = FakeService()
    batcher, _ = _batcher(service, clock=BrokenClock(), max_updates=1)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            batcher.checkpoint(_start(1), sync=False)
            batcher.checkpoint(_succeed(1), sync=True)
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    caller.join(5)
    assert not caller.is_alive(), "the sync caller waits forever"
    assert isinstance(outcome[0], BackgroundThreadError) and "clock broke" in str(outcome[0])
    with pytest.raises(BackgroundThreadError):
        batcher.checkpoint(_start(2), sync=False)
    batcher.close()


def test_stale_token_is_retryable_but_bad_parameter_is_not() -> None:
    service = FakeService()
    batcher, _ = _batcher(service)
    service.token = "other"
    with pytest.raises(BackgroundThreadError) as info:
        batcher.checkpoint(_succeed(1), sync=True)
    assert info.value.source_exception.is_retryable()  # type: ignore[attr-defined]
    batcher.close()
    service = FakeService()
    service.fail_next = InvalidParameterValueError("update s1: bad")
    batcher, _ = _batcher(service)
    with pytest.raises(BackgroundThreadError) as info:
        batcher.checkpoint(_succeed(1), sync=True)
    assert not info.value.source_exception.is_retryable()  # type: ignore[attr-defined]
    batcher.close()


def test_revoked_token_suspends() -> None:
    service = FakeService()
    service.revoke_next = True
    batcher, _ = _batcher(service)
    with pytest.raises(SuspendExecution):
        batcher.checkpoint(_succeed(1), sync=True)
    assert batcher.revoked
    with pytest.raises(SuspendExecution):
        batcher.checkpoint(_succeed(2), sync=True)
    batcher.close()


def test_execution_update_completes() -> None:
    service = FakeService()
    batcher, _ = _batcher(service)
    batcher.checkpoint(
        OperationUpdate("execution-result-1", OperationType.EXECUTION, OperationAction.SUCCEED), sync=True
    )
    assert batcher.execution_completed and not batcher.revoked
    with pytest.raises(OrphanedChildException):
        batcher.checkpoint(_start(1), sync=False)
    batcher.close()


def test_children_of_a_completed_context_are_orphaned() -> None:
    service = FakeService()
    batcher, _ = _batcher(service)
    batcher.checkpoint(OperationUpdate("c", OperationType.CONTEXT, OperationAction.START), sync=False)
    batcher.checkpoint(
        OperationUpdate("k", OperationType.CONTEXT, OperationAction.START, parent_id="c"), sync=False
    )
    batcher.checkpoint(OperationUpdate("c", OperationType.CONTEXT, OperationAction.SUCCEED), sync=True)
    with pytest.raises(OrphanedChildException):
        batcher.checkpoint(_start(9, parent="k"), sync=False)
    with pytest.raises(OrphanedChildException):
        batcher.checkpoint(_start(8, parent="c"), sync=False)
    batcher.close()


def test_close_flushes_pending_async_updates() -> None:
    service = FakeService()
    batcher, _ = _batcher(service, async_linger_seconds=30.0, max_batch_seconds=60.0)
    batcher.checkpoint(_start(1), sync=False)
    batcher.close()
    assert [u.id for u in service.updates()] == ["s1"]


def test_refresh_sends_an_empty_request_and_merges() -> None:
    service = FakeService()
    batcher, state = _batcher(service)
    batcher.checkpoint(_start(1), sync=False)
    batcher.checkpoint(None, sync=True)
    assert [len(r.updates) for r in service.requests] == [1]
    batcher.checkpoint(None, sync=True)
    assert [len(r.updates) for r in service.requests] == [1, 0]
    assert state.get("s1") is not None
    batcher.close()


class _SlowService(FakeService):
    """A service whose every request takes a while (so callers pile up behind it)."""

    def checkpoint_durable_execution(self, request: Any) -> Any:
        time.sleep(0.02)
        return super().checkpoint_durable_execution(request)


def test_concurrent_sync_callers_share_one_request() -> None:
    """Callers blocked at once are expected again: the next request waits for all of them
    instead of alternating between two half-full requests."""
    service = _SlowService()
    batcher, _ = _batcher(service, sync_linger_seconds=5.0, sync_gap_seconds=1.0)
    threads, rounds = 8, 5
    barrier = threading.Barrier(threads)

    def caller(t: int) -> None:
        barrier.wait()
        for r in range(rounds):
            i = t * 100 + r
            batcher.checkpoint(_start(i), sync=False)
            batcher.checkpoint(_succeed(i), sync=True)

    workers = [threading.Thread(target=caller, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    batcher.close()
    succeeds = [sum(u.action is OperationAction.SUCCEED for u in r.updates) for r in service.requests]
    assert sum(succeeds) == threads * rounds
    # The first request leaves with whoever has queued (one caller is expected); the
    # rest of the first round follow in the next one. Once all eight are seen blocked
    # together, every request carries all eight, but for the first round's remainder at
    # the end: at most one more request than rounds, instead of two per round.
    assert len(service.requests) <= rounds + 1, succeeds
    assert all(n == threads for n in succeeds[1:-1]), succeeds


def test_a_lone_sync_caller_never_lingers() -> None:
    service = FakeService()
    batcher, _ = _batcher(service, sync_linger_seconds=30.0, sync_gap_seconds=30.0)
    started = time.monotonic()
    for i in range(20):
        batcher.checkpoint(_start(i), sync=False)
        batcher.checkpoint(_succeed(i), sync=True)
    assert time.monotonic() - started < 5
    batcher.close()
    assert len(service.requests) == 20


class _ThreadRecordingService(FakeService):
    """Records the thread each request is sent on; the first request waits for `gate`."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def checkpoint_durable_execution(self, request: Any) -> Any:
        self.threads.append(threading.get_ident())
        self.gate.wait(10)
        return super().checkpoint_durable_execution(request)


def test_a_lone_sync_caller_sends_its_own_request_after_what_was_queued() -> None:
    """A lone sync caller sends the queue itself (no hand-off to the writer thread), and is
    released only with the response; an async update alone is still sent by the writer."""
    service = _ThreadRecordingService()
    batcher, state = _batcher(service, async_linger_seconds=0.01)
    for i in range(3):
        batcher.checkpoint(_start(i), sync=False)
        batcher.checkpoint(_succeed(i), sync=True)
        assert state.get(f"s{i}").status is OperationStatus.SUCCEEDED  # type: ignore[union-attr]
    assert [[u.id for u in r.updates] for r in service.requests] == [["s0", "s0"], ["s1", "s1"], ["s2", "s2"]]
    assert set(service.threads) == {threading.get_ident()}
    batcher.checkpoint(_start(9), sync=False)
    for _ in range(500):  # the writer finds it on its next look (10 ms here), up to 5 s under load
        if len(service.requests) == 4:
            break
        time.sleep(0.01)
    assert [u.id for u in service.requests[-1].updates] == ["s9"]
    assert service.threads[-1] != threading.get_ident()
    batcher.close()


def test_a_lone_caller_gets_its_own_request_s_outcome_not_the_next_one_s() -> None:
    # Another caller queues while a lone caller's request is in flight; the writer sends it
    # next and that request fails. The lone caller's update was durable: it returns, and
    # only the other caller gets the failure.
    other_done = threading.Event()
    errors: list[BaseException] = []

    class FailsNext(FakeService):
        def checkpoint_durable_execution(self, request: Any) -> Any:
            response = super().checkpoint_durable_execution(request)
            if [u.id for u in request.updates] == ["s1"]:
                threading.Thread(target=other).start()
                time.sleep(0.05)  # the other caller queues behind this request
                self.fail_next = ServiceError("down")
            return response

    class Preempted(CheckpointBatcher):
        def _send_here(self, batch: Any) -> BaseException | None:
            outcome = super()._send_here(batch)
            other_done.wait(10)  # descheduled here while the writer sends the next request
            return outcome

    service = FailsNext()
    state = ExecutionState(ARN, service.operations())
    batcher = Preempted(service, state, service.token, BatcherLimits())
    state.checkpointer = batcher

    def other() -> None:
        try:
            batcher.checkpoint(_succeed(2), sync=True)
        except BaseException as exc:
            errors.append(exc)
        finally:
            other_done.set()

    batcher.start()
    batcher.checkpoint(_succeed(1), sync=True)  # no error: its request succeeded
    assert state.get("s1").status is OperationStatus.SUCCEEDED  # type: ignore[union-attr]
    assert len(errors) == 1 and isinstance(errors[0], BackgroundThreadError)
    batcher.close()


def test_callers_arriving_while_a_caller_sends_go_to_the_writer_in_order() -> None:
    service = _ThreadRecordingService()
    batcher, _ = _batcher(service)
    service.gate.clear()
    first = threading.Thread(target=batcher.checkpoint, args=(_succeed(1),), kwargs={"sync": True})
    first.start()
    for _ in range(500):
        if service.threads:
            break
        time.sleep(0.01)
    others = [
        threading.Thread(target=batcher.checkpoint, args=(_succeed(i),), kwargs={"sync": True})
        for i in (2, 3)
    ]
    for worker in others:
        worker.start()
    time.sleep(0.05)  # both queue behind the request in flight
    service.gate.set()
    for worker in (first, *others):
        worker.join(10)
        assert not worker.is_alive()
    batcher.close()
    sent = [u.id for r in service.requests for u in r.updates]
    assert sent[0] == "s1" and sorted(sent[1:]) == ["s2", "s3"]
    assert service.threads[0] == first.ident


def test_gathering_gives_up_when_expected_callers_do_not_return() -> None:
    """Two callers blocked together, then only one comes back: its request still leaves
    after the sync linger."""
    service = _SlowService()
    batcher, _ = _batcher(service, sync_linger_seconds=0.1, sync_gap_seconds=30.0)
    barrier = threading.Barrier(2)

    def once(i: int) -> None:
        barrier.wait()
        batcher.checkpoint(_succeed(i), sync=True)

    pair = [threading.Thread(target=once, args=(i,)) for i in (1, 2)]
    for worker in pair:
        worker.start()
    for worker in pair:
        worker.join(10)
    started = time.monotonic()
    batcher.checkpoint(_succeed(3), sync=True)
    assert time.monotonic() - started < 5
    batcher.close()


def test_an_async_update_queued_on_the_event_loop_is_sent_on_its_own() -> None:
    """On the loop it serves, an async update wakes the sender from a loop callback: it is
    still sent while nothing else is queued and the writer stays open."""
    import asyncio

    service = FakeService()
    batcher, _ = _batcher(service, async_linger_seconds=0.01)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        batcher.serve_loop(loop, threading.get_ident())
        batcher.checkpoint(_start(1), sync=False)
        for _ in range(500):  # up to 5 s under load; sent after the 10 ms linger
            if service.requests:
                return
            await asyncio.sleep(0.01)

    asyncio.run(main())
    sent = [u.id for r in service.requests for u in r.updates]
    batcher.close()
    assert sent == ["s1"]


def test_awaited_acknowledgements_of_one_request_are_all_released() -> None:
    import asyncio

    service = _SlowService()
    batcher, state = _batcher(service, sync_linger_seconds=5.0, sync_gap_seconds=1.0)

    async def main() -> None:
        batcher.serve_loop(asyncio.get_running_loop(), threading.get_ident())
        for i in range(5):
            batcher.checkpoint(_start(i), sync=False)
        await asyncio.gather(*(batcher.acheckpoint(_succeed(i)) for i in range(5)))

    asyncio.run(main())
    batcher.close()
    assert all(state.get(f"s{i}").status is OperationStatus.SUCCEEDED for i in range(5))  # type: ignore[union-attr]
    assert sum(len(r.updates) for r in service.requests) == 10


def _release_from_another_thread(acks: list[Any], error: BaseException | None = None) -> None:
    from perdure.sdk.batcher import _LoopWaiter, _release_on_loops

    thread = threading.Thread(target=_release_on_loops, args=([_LoopWaiter(a) for a in acks], error))
    thread.start()
    thread.join()


def test_an_acknowledgement_wakes_its_task_in_the_callback_that_releases_it() -> None:
    import asyncio

    from perdure.sdk.batcher import Acknowledgement

    async def main() -> list[str]:
        seen: list[str] = []
        first, second = (
            Acknowledgement(asyncio.get_running_loop()),
            Acknowledgement(asyncio.get_running_loop()),
        )

        async def waiter(name: str, ack: Acknowledgement) -> None:
            await ack
            seen.append(name)

        tasks = [asyncio.create_task(waiter("first", first)), asyncio.create_task(waiter("second", second))]
        await asyncio.sleep(0)  # both tasks wait
        _release_from_another_thread([first, second])
        await asyncio.sleep(0)  # the release's callback has run: both tasks went on inside it
        seen.append("after one turn")
        await asyncio.gather(*tasks)
        return seen

    assert asyncio.run(main()) == ["first", "second", "after one turn"]


def test_an_acknowledgement_released_before_it_is_awaited_returns_at_once_and_carries_its_error() -> None:
    import asyncio

    from perdure.sdk.batcher import Acknowledgement

    async def main() -> None:
        done, failed = (
            Acknowledgement(asyncio.get_running_loop()),
            Acknowledgement(asyncio.get_running_loop()),
        )
        _release_from_another_thread([done])
        _release_from_another_thread([failed], SuspendExecution("revoked"))
        await asyncio.sleep(0.01)
        await done
        with pytest.raises(SuspendExecution):
            await failed

    asyncio.run(main())


def test_a_task_cancelled_while_it_awaits_an_acknowledgement_is_woken_once() -> None:
    import asyncio

    from perdure.sdk.batcher import Acknowledgement

    async def main() -> None:
        ack = Acknowledgement(asyncio.get_running_loop())
        resumed: list[str] = []

        async def waiter() -> None:
            try:
                await ack
            except asyncio.CancelledError:
                resumed.append("cancelled")
                raise
            resumed.append("released")

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        task.cancel()
        _release_from_another_thread([ack])  # the response arrives after the cancellation
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.01)  # the release's callback runs: it wakes nobody
        assert ack.cancelled()
        assert resumed == ["cancelled"]

    asyncio.run(main())


def test_an_acknowledgement_can_be_handed_to_asyncio_wait_like_a_future() -> None:
    import asyncio

    from perdure.sdk.batcher import Acknowledgement

    async def main() -> None:
        slow, released = (
            Acknowledgement(asyncio.get_running_loop()),
            Acknowledgement(asyncio.get_running_loop()),
        )
        _release_from_another_thread([released])
        done, pending = await asyncio.wait({slow, released}, timeout=5, return_when=asyncio.FIRST_COMPLETED)  # type: ignore[type-var]
        assert done == {released} and pending == {slow}
        assert slow._callbacks == []  # asyncio.wait took back the callback it left on the other one

    asyncio.run(main())
