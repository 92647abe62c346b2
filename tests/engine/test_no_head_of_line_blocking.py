"""No invocation delays another: new work (a start, a callback, a chained invoke, a timer
coming due) is picked up while another execution's invocation is held open by the test,
through `drive` (as `perdure run` and the test runner use the engine) and through the
background loop (as `perdure serve` does) with `when_finished`. Order is tested, never time:
the held invocation ends only when the test releases it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from engine.fakes import Recorder, Session, Step, Wait, start, succeed, succeeded, workflow
from engine.test_callback import callback_flow, callback_id, success
from engine.test_chained_invoke import caller

from perdure.engine import Engine
from perdure.wire.errors import ResourceNotFoundError
from perdure.wire.types import ExecutionStatus, InvocationOutput, StopDurableExecutionRequest

pytestmark = pytest.mark.timeout(120)

_HOLD_LIMIT_SECONDS = 60.0
"""A held invocation that is never released gives up (and the test fails) instead of hanging."""


class Held:
    """A function whose first invocation checkpoints a step and then blocks until `release`."""

    def __init__(self, engine: Engine) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.gave_up = False
        self.recorder = Recorder(engine, self._body)

    def _body(self, s: Session) -> InvocationOutput:
        s.cp(start("held"))
        self.entered.set()
        if not self.release.wait(_HOLD_LIMIT_SECONDS):
            self.gave_up = True
            raise TimeoutError("the test never released the held invocation")
        s.cp(succeed("held", '"released"'))
        return succeeded('"released"')

    def is_holding(self, engine: Engine, arn: str) -> bool:
        return (
            not self.gave_up
            and not self.release.is_set()
            and engine.get_execution(arn).status is (ExecutionStatus.RUNNING)
        )


@pytest.fixture
def holds() -> Iterator[list[Held]]:
    """The held functions of a test, released at its end (so a failed test does not wait)."""
    created: list[Held] = []
    yield created
    for held in created:
        held.release.set()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path, holds: list[Held]) -> Iterator[Engine]:
    if request.param == "memory":
        eng = Engine.in_memory(workers=2)
    elif request.param == "sqlite":
        eng = Engine.open(tmp_path / "perdure.db", skip_time=True, workers=2)
    else:
        eng = Engine.open(request.getfixturevalue("pg_url"), skip_time=True, workers=2)
    yield eng
    eng.close()


def hold_one(engine: Engine, holds: list[Held], *, loop: bool) -> tuple[Held, str, threading.Thread | None]:
    """Start a held execution and wait until its invocation runs, driven by a thread of its own
    (as a second `drive` caller would) or by the background loop (`loop`)."""
    held = Held(engine)
    holds.append(held)
    engine.register_function("held", held.recorder)
    arn = engine.start_execution("held", None)
    driver = None
    if loop:
        engine.start()
    else:
        driver = threading.Thread(target=engine.drive, args=(arn,), daemon=True)
        driver.start()
    assert held.entered.wait(30), "the held invocation did not start"
    return held, arn, driver


def release(engine: Engine, held: Held, arn: str, driver: threading.Thread | None) -> None:
    held.release.set()
    if driver is not None:
        driver.join(30)
    assert engine.when_finished(arn).result(30) is ExecutionStatus.SUCCEEDED


def test_drive_returns_when_its_execution_ends_while_another_invocation_runs(
    engine: Engine, holds: list[Held]
) -> None:
    engine.register_function("quick", workflow(engine, [Step("s1"), Step("s2")]))
    held, slow, driver = hold_one(engine, holds, loop=False)
    for _ in range(2):
        quick = engine.start_execution("quick", None)
        assert engine.drive(quick).status is ExecutionStatus.SUCCEEDED
        assert held.is_holding(engine, slow)
    release(engine, held, slow, driver)


def test_the_background_loop_starts_new_work_while_an_invocation_runs(
    engine: Engine, holds: list[Held]
) -> None:
    engine.register_function("quick", workflow(engine, [Step("s1")]))
    held, slow, _ = hold_one(engine, holds, loop=True)
    quick = engine.start_execution("quick", None)
    assert engine.when_finished(quick).result(30) is ExecutionStatus.SUCCEEDED
    assert held.is_holding(engine, slow)
    release(engine, held, slow, None)


@pytest.mark.parametrize("loop", [False, True], ids=["drive", "loop"])
def test_a_callback_completion_is_picked_up_while_another_invocation_runs(
    engine: Engine, holds: list[Held], loop: bool
) -> None:
    engine.register_function("fn", callback_flow(engine))
    waiting = engine.start_execution("fn", None)
    engine.run_until_idle()
    cid = callback_id(engine, waiting)
    held, slow, driver = hold_one(engine, holds, loop=loop)
    success(engine, cid)
    if loop:
        assert engine.when_finished(waiting).result(30) is ExecutionStatus.SUCCEEDED
    else:
        assert engine.drive(waiting).status is ExecutionStatus.SUCCEEDED
    assert engine.get_execution(waiting).result == '"yes"'
    assert held.is_holding(engine, slow)
    release(engine, held, slow, driver)


@pytest.mark.parametrize("loop", [False, True], ids=["drive", "loop"])
def test_a_chained_invoke_runs_while_another_invocation_runs(
    engine: Engine, holds: list[Held], loop: bool
) -> None:
    engine.register_function("target", workflow(engine, [Step("s")], result='"from target"'))
    engine.register_function("caller", caller(engine, "target"))
    held, slow, driver = hold_one(engine, holds, loop=loop)
    calling = engine.start_execution("caller", None)
    if loop:
        assert engine.when_finished(calling).result(30) is ExecutionStatus.SUCCEEDED
    else:
        assert engine.drive(calling).status is ExecutionStatus.SUCCEEDED
    assert engine.get_execution(calling).result == '"from target"'
    assert held.is_holding(engine, slow)
    release(engine, held, slow, driver)


@pytest.mark.parametrize("loop", [False, True], ids=["drive", "loop"])
def test_a_timer_coming_due_is_picked_up_while_another_invocation_runs(holds: list[Held], loop: bool) -> None:
    engine = Engine.in_memory(skip_time=False, workers=2)  # real time: the wait lasts 1 s
    try:
        engine.register_function("waits", workflow(engine, [Wait("w", 1), Step("after")]))
        held, slow, driver = hold_one(engine, holds, loop=loop)
        waiting = engine.start_execution("waits", None)
        if loop:
            assert engine.when_finished(waiting).result(30) is ExecutionStatus.SUCCEEDED
        else:
            assert engine.drive(waiting).status is ExecutionStatus.SUCCEEDED
        assert held.is_holding(engine, slow)
        release(engine, held, slow, driver)
    finally:
        engine.close()


def test_virtual_time_does_not_jump_while_an_invocation_runs(engine: Engine, holds: list[Held]) -> None:
    engine.register_function("waits", workflow(engine, [Wait("w", 3600), Step("after")]))
    held, slow, driver = hold_one(engine, holds, loop=False)
    t0 = engine.clock.now()
    waiting = engine.start_execution("waits", None)
    drive = threading.Thread(target=engine.drive, args=(waiting,), daemon=True)
    drive.start()
    # The waiting execution has checkpointed its wait (its history shows it) and its drive has
    # nothing else to run, but the held invocation still runs: the clock must stay put.
    assert _eventually(lambda: any(e.event_type.value == "WaitStarted" for e in engine.history(waiting)))
    assert engine.clock.now() == t0 and held.is_holding(engine, slow)
    release(engine, held, slow, driver)
    drive.join(30)
    assert engine.get_execution(waiting).status is ExecutionStatus.SUCCEEDED
    assert engine.clock.now() - t0 >= timedelta(seconds=3600)  # then it jumped over the wait


def _eventually(check: Callable[[], bool]) -> bool:
    """Whether `check` holds within 30 s (polled; the test asserts an order, not a duration)."""
    event = threading.Event()
    for _ in range(1500):
        if check():
            return True
        event.wait(0.02)
    return False


def test_when_finished_resolves_on_a_stop_and_at_once_for_an_ended_execution(engine: Engine) -> None:
    engine.register_function("fn", callback_flow(engine))
    arn = engine.start_execution("fn", None)
    engine.run_until_idle()
    future = engine.when_finished(arn)
    assert not future.done()  # it waits for its callback; no thread waits for the future
    engine.service.stop_durable_execution(StopDurableExecutionRequest(arn))
    assert future.result(0) is ExecutionStatus.STOPPED
    assert engine.when_finished(arn).result(0) is ExecutionStatus.STOPPED
    with pytest.raises(ResourceNotFoundError):
        engine.when_finished(arn + "-missing")


def test_a_pending_when_finished_is_cancelled_by_close_and_cancelling_one_drops_it(engine: Engine) -> None:
    engine.register_function("fn", callback_flow(engine))
    arn = engine.start_execution("fn", None)
    engine.run_until_idle()
    dropped, kept = engine.when_finished(arn), engine.when_finished(arn)
    assert dropped.cancel()
    assert engine.scheduler._watchers == {arn: [kept]}
    engine.close()
    assert kept.cancelled()


def test_a_callback_another_engine_commits_to_the_file_is_picked_up_while_an_invocation_runs(
    store_url: str | Path, holds: list[Held]
) -> None:
    """The second engine stands for another process (`perdure callback --db`): its commit is
    seen through the store's external version, while this engine's held invocation still runs."""
    path = store_url
    engine = Engine.open(path, skip_time=True, workers=2)
    other = Engine.open(path, skip_time=True, recover_on_open=False)
    try:
        engine.register_function("fn", callback_flow(engine))
        waiting = engine.start_execution("fn", None)
        engine.run_until_idle()
        cid = callback_id(engine, waiting)
        held, slow, _ = hold_one(engine, holds, loop=True)
        finished = engine.when_finished(waiting)
        success(other, cid)  # no notify reaches `engine`: only the file changed
        assert finished.result(30) is ExecutionStatus.SUCCEEDED
        assert held.is_holding(engine, slow)
        release(engine, held, slow, None)
    finally:
        other.close()
        engine.close()


def test_watched_executions_settle_each_by_the_way_it_ended(tmp_path: Path) -> None:
    """Several executions awaited with `when_finished` at once, on the background loop: one
    ends through its own invocation, one is stopped by another process (a second engine on the
    file), one reaches its ExecutionTimeout (a timer); each future gets its own status when
    its execution ends, and one still waiting stays pending."""
    path = tmp_path / "perdure.db"
    engine = Engine.open(path, workers=2)
    other = Engine.open(path, recover_on_open=False)
    try:
        engine.register_function("fn", callback_flow(engine))
        engine.register_function("quick", workflow(engine, [Step("s1")]))
        stopped, waiting = (engine.start_execution("fn", None, f"e{i}") for i in range(2))
        engine.run_until_idle()
        futures = {arn: engine.when_finished(arn) for arn in (stopped, waiting)}
        engine.start()
        quick = engine.start_execution("quick", None)
        assert engine.when_finished(quick).result(30) is ExecutionStatus.SUCCEEDED
        assert not any(f.done() for f in futures.values())
        other.service.stop_durable_execution(StopDurableExecutionRequest(stopped))
        assert futures[stopped].result(30) is ExecutionStatus.STOPPED
        timed = engine.start_execution("fn", None, "times-out", execution_timeout=1)
        assert engine.when_finished(timed).result(30) is ExecutionStatus.TIMED_OUT
        assert not futures[waiting].done()
    finally:
        other.close()
        engine.close()
