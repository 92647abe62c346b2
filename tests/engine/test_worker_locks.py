"""Two workers on one PostgreSQL database changing the same executions at once never fail a
request: callbacks and stops sent to both while the executions run (each worker's group
commit locks several executions in arrival order), and stops of callers while the
executions they invoked end (a caller and its invoked execution locked from both sides).
Their history stays in time order whichever worker stamped it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from engine.fakes import PENDING, Recorder, Session, succeeded

from perdure.engine import Engine
from perdure.wire.errors import CallbackTimeoutServiceError, ResourceConflictError
from perdure.wire.types import (
    CallbackOptions,
    ChainedInvokeOptions,
    EventType,
    ExecutionStatus,
    InvocationOutput,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    SendDurableExecutionCallbackHeartbeatRequest,
    SendDurableExecutionCallbackSuccessRequest,
    StopDurableExecutionRequest,
)


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


EXECUTIONS = 8
THREADS = 3
CALLS = 30
"""Heartbeats each thread of each worker sends, to executions drawn at random."""


def _waiter(s: Session) -> InvocationOutput:
    """Opens a callback (with a heartbeat timeout) and waits for it; returns its result."""
    if "cb" not in s.ops:
        s.cp(
            OperationUpdate(
                id="cb",
                type=OperationType.CALLBACK,
                action=OperationAction.START,
                sub_type="Callback",
                callback_options=CallbackOptions(timeout_seconds=600, heartbeat_timeout_seconds=300),
            )
        )
    op = s.ops["cb"]
    if op.status is OperationStatus.SUCCEEDED:
        return succeeded(op.callback_details.result if op.callback_details else None)
    return PENDING


def _caller(s: Session) -> InvocationOutput:
    """Invokes `waiter` and waits for it."""
    if "invoke" not in s.ops:
        s.cp(
            OperationUpdate(
                id="invoke",
                type=OperationType.CHAINED_INVOKE,
                action=OperationAction.START,
                sub_type="ChainedInvoke",
                payload=None,
                chained_invoke_options=ChainedInvokeOptions("waiter"),
            )
        )
    return succeeded('"done"') if s.ops["invoke"].status is OperationStatus.SUCCEEDED else PENDING


@contextmanager
def _two_workers(pg_url: str, serving: tuple[bool, bool] = (True, True)) -> Iterator[tuple[Engine, Engine]]:
    """Two workers; those `serving` have the functions."""
    engines = [Engine.open(pg_url, lease_ttl=10, worker_id=f"w{i}") for i in range(2)]
    try:
        for engine, serves in zip(engines, serving, strict=True):
            if serves:
                engine.register_function("waiter", Recorder(engine, _waiter))  # type: ignore[arg-type]
                engine.register_function("caller", Recorder(engine, _caller))  # type: ignore[arg-type]
            engine.start()
        yield engines[0], engines[1]
    finally:
        for engine in engines:
            engine.close()


def _callback_id(engine: Engine, arn: str) -> str:
    def opened() -> bool:
        return any(e.event_type is EventType.CALLBACK_STARTED for e in engine.history(arn))

    eventually(opened)
    (event,) = [e for e in engine.history(arn) if e.event_type is EventType.CALLBACK_STARTED]
    assert event.details.callback_id is not None
    return event.details.callback_id


def _hammer(calls: list[Callable[[], None]], allowed: tuple[type[Exception], ...] = ()) -> None:
    """Run `calls` at once, one thread each; every exception but `allowed` is re-raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], None]) -> None:
        barrier.wait(10)
        try:
            call()
        except allowed:
            pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


def _history_in_time_order(engine: Engine, arn: str) -> None:
    times = [e.event_timestamp for e in engine.history(arn)]
    assert times == sorted(times)


def test_callbacks_and_stops_from_two_workers_on_running_executions_never_fail(pg_url: str) -> None:
    with _two_workers(pg_url) as (a, b):
        arns = [(a, b)[i % 2].start_execution("waiter", None, f"w{i}") for i in range(EXECUTIONS)]
        ids = [_callback_id(a, arn) for arn in arns]

        def heartbeats(engine: Engine, seed: int) -> Callable[[], None]:
            order = random.Random(seed)

            def send() -> None:
                for _ in range(CALLS):
                    request = SendDurableExecutionCallbackHeartbeatRequest(order.choice(ids))
                    engine.service.send_durable_execution_callback_heartbeat(request)

            return send

        _hammer([heartbeats(engine, i) for engine in (a, b) for i in range(THREADS)])

        # Then each execution gets, from both workers at once, a stop and its callback's
        # answer: one of each pair wins, the other is refused with a client error.
        def stop(engine: Engine, arn: str) -> Callable[[], None]:
            return lambda: engine.service.stop_durable_execution(StopDurableExecutionRequest(arn))

        def answer(engine: Engine, callback_id: str) -> Callable[[], None]:
            request = SendDurableExecutionCallbackSuccessRequest(callback_id, b'"answered"')
            return lambda: engine.service.send_durable_execution_callback_success(request)

        calls = [stop((a, b)[i % 2], arn) for i, arn in enumerate(arns)]
        calls += [answer((b, a)[i % 2], callback_id) for i, callback_id in enumerate(ids)]
        _hammer(calls, allowed=(ResourceConflictError, CallbackTimeoutServiceError))
        for arn in arns:
            eventually(lambda arn=arn: a.get_execution(arn).status is not ExecutionStatus.RUNNING)
            assert a.get_execution(arn).status in (ExecutionStatus.STOPPED, ExecutionStatus.SUCCEEDED)
            _history_in_time_order(b, arn)


def test_stopping_callers_while_their_invoked_executions_end_never_fails(pg_url: str) -> None:
    with _two_workers(pg_url) as (a, b):
        callers = [(a, b)[i % 2].start_execution("caller", None, f"c{i}") for i in range(EXECUTIONS)]

        def invoked(arn: str) -> str:
            eventually(lambda: a.service.get_operation(arn, "invoke").chained_invoke_details is not None)
            details = a.service.get_operation(arn, "invoke").chained_invoke_details
            assert details is not None
            (started,) = [e for e in a.history(arn) if e.event_type is EventType.CHAINED_INVOKE_STARTED]
            assert started.details.durable_execution_arn is not None
            return started.details.durable_execution_arn

        children = [invoked(arn) for arn in callers]
        ids = [_callback_id(a, child) for child in children]
        # The invoked execution ends (its callback answered on one worker, it runs to its end
        # there, which completes its caller's operation) while the other worker stops the
        # caller (which stops the invoked execution).
        calls: list[Callable[[], None]] = []
        for i, (caller, callback_id) in enumerate(zip(callers, ids, strict=True)):
            request = SendDurableExecutionCallbackSuccessRequest(callback_id, b'"answered"')
            answering, stopping = ((a, b), (b, a))[i % 2]
            calls.append(lambda e=answering, r=request: e.service.send_durable_execution_callback_success(r))
            calls.append(
                lambda e=stopping, c=caller: e.service.stop_durable_execution(StopDurableExecutionRequest(c))
            )
        _hammer(calls, allowed=(ResourceConflictError, CallbackTimeoutServiceError))
        for caller, child in zip(callers, children, strict=True):
            eventually(lambda c=child: a.get_execution(c).status is not ExecutionStatus.RUNNING)
            eventually(lambda c=caller: a.get_execution(c).status is not ExecutionStatus.RUNNING)
            assert a.get_execution(caller).status in (ExecutionStatus.STOPPED, ExecutionStatus.SUCCEEDED)
            _history_in_time_order(a, caller)
            _history_in_time_order(a, child)


def test_history_never_goes_back_when_the_workers_clocks_differ(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker whose clock runs a minute ahead answers a callback; the worker that runs the
    execution then stamps its next events no earlier than that answer."""
    with _two_workers(pg_url, serving=(False, True)) as (ahead, running):
        monkeypatch.setattr(ahead.clock, "now", lambda: datetime.now(UTC) + timedelta(minutes=1))
        arn = ahead.start_execution("waiter", None, "skewed")
        ahead.service.send_durable_execution_callback_success(
            SendDurableExecutionCallbackSuccessRequest(_callback_id(running, arn), b'"answered"')
        )
        eventually(lambda: running.get_execution(arn).status is ExecutionStatus.SUCCEEDED)
        history = running.history(arn)
        answered = [e for e in history if e.event_type is EventType.CALLBACK_SUCCEEDED]
        assert answered and history[-1].event_type is EventType.EXECUTION_SUCCEEDED
        assert history[-1].event_timestamp >= answered[0].event_timestamp
        _history_in_time_order(running, arn)
