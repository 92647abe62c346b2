"""perdure.sdk.threads.spawn: a thread whose work ended takes the next work instead of a new
thread starting, the work runs as it would on a new thread, and a kept thread exits in time."""

from __future__ import annotations

import contextvars
import gc
import os
import signal
import threading
import time
import weakref
from typing import Any

import pytest

from perdure.sdk import threads
from perdure.sdk.context import DurableContext
from perdure.sdk.execution import durable_execution
from perdure.sdk.threads import spawn

from .fakes import FakeService

_var: contextvars.ContextVar[str] = contextvars.ContextVar("_var", default="unset")


def _ran_on() -> tuple[list[Any], Any]:
    seen: list[Any] = []

    def work() -> None:
        seen.append((threading.get_ident(), threading.current_thread().name, _var.get()))
        _var.set("set by the work before")

    return seen, work


def test_the_next_work_runs_on_the_thread_whose_work_ended_in_a_context_of_its_own() -> None:
    seen, work = _ran_on()
    spawn(work, "first").wait()
    job = spawn(work, "second")
    job.wait()
    assert job.done()
    (first, first_name, first_var), (second, second_name, second_var) = seen
    assert second == first
    assert (first_name, second_name) == ("first", "second")
    assert first_var == second_var == "unset"  # a new thread's context: nothing the last work set


def test_a_kept_thread_keeps_nothing_of_its_last_work() -> None:
    class State:
        pass

    def start() -> weakref.ref[State]:
        state = State()
        spawn(lambda: state, "holding").wait()  # it holds `state`, as a sender its invocation
        return weakref.ref(state)

    ref = start()
    gc.collect()
    assert ref() is None, "the kept thread (or its job) still holds what its last work held"


def test_work_that_raises_ends_its_thread_and_the_next_work_still_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reported: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: reported.append(args.exc_value))

    def fail() -> None:
        raise ValueError("the work failed")

    job = spawn(fail, "failing")
    job.wait()
    seen, work = _ran_on()
    spawn(work, "after").wait()
    deadline = time.monotonic() + 5
    while not reported and time.monotonic() < deadline:
        time.sleep(0.001)
    assert [type(e) for e in reported] == [ValueError]
    assert len(seen) == 1


def test_a_kept_thread_exits_when_no_work_comes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "KEEP_SECONDS", 0.05)
    seen, work = _ran_on()
    started = threading.Event()

    def mark() -> None:
        work()
        started.set()

    spawn(mark, "kept-briefly").wait()
    (ident, _, _) = seen[0]
    deadline = time.monotonic() + 5
    while any(t.ident == ident for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.ident == ident for t in threading.enumerate()), "the kept thread did not exit"
    spawn(work, "later").wait()  # a new thread takes it
    assert len(seen) == 2


def test_no_more_threads_are_kept_than_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "MAX_KEPT", 0)
    seen, work = _ran_on()
    spawn(work, "not-kept").wait()
    (ident, _, _) = seen[0]
    deadline = time.monotonic() + 5
    while any(t.ident == ident for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.ident == ident for t in threading.enumerate())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_its_own_thread() -> None:
    spawn(lambda: None, "parent").wait()  # a thread of the parent now waits for work
    pid = os.fork()
    if pid == 0:  # the child: the parent's waiting thread does not exist here
        ran = threading.Event()
        job = spawn(ran.set, "child")
        os._exit(0 if ran.wait(5) and (job.wait() or True) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_in_a_child_forked_while_work_ran_the_work_counts_as_done() -> None:
    release = threading.Event()
    job = spawn(release.wait, "running-at-fork")
    pid = os.fork()
    if pid == 0:  # no thread runs the job here: waiting for it must not hang (a joined thread would not)
        waiter = threading.Thread(target=job.wait, daemon=True)
        waiter.start()
        waiter.join(5)
        os._exit(0 if not waiter.is_alive() and job.done() else 1)
    release.set()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    job.wait()


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs signal.setitimer")
def test_a_wait_interrupted_by_a_signal_leaves_the_job_waitable() -> None:
    class Interrupted(Exception):
        pass

    def interrupt(signum: int, frame: Any) -> None:
        raise Interrupted

    release = threading.Event()
    job = spawn(release.wait, "interrupted-wait")
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(Interrupted):
            job.wait()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not job.done()
    release.set()
    waiter = threading.Thread(target=job.wait, daemon=True)
    waiter.start()
    waiter.join(5)
    assert not waiter.is_alive(), "a wait after the interrupted one hangs"
    assert job.done()


def test_invocations_in_a_row_start_no_new_checkpoint_sender_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.step(lambda _: 1, name="one")  # type: ignore[no-any-return]

    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "SUCCEEDED"  # one sender thread now waits
    started: list[str] = []
    real_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        started.append(self.name)
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", start)
    for _ in range(5):
        assert handler(FakeService().invocation(), None)["Status"] == "SUCCEEDED"
    assert "perdure-checkpoint" not in started
