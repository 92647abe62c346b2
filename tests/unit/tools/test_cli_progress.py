"""`perdure run`'s live lines, from a real history fed in pieces on a fake clock."""

from __future__ import annotations

import argparse
import re
import shlex
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from perdure import (
    DurableContext,
    Duration,
    RetryStrategyConfig,
    StepConfig,
    StepContext,
    create_retry_strategy,
    durable_execution,
)
from perdure.cli.commands import _print_resume_hint
from perdure.cli.live import Follower, Progress, RunObserver, drive_skipping
from perdure.engine import Engine, EngineStalledError
from perdure.link.inprocess import InProcessInvocable
from perdure.testing import DurableTestRunner
from perdure.wire.types import (
    Event,
    EventDetails,
    EventType,
    ExecutionStatus,
    InvocationOutput,
    InvocationStatus,
)


@durable_execution
def mapped(event: Any, context: DurableContext) -> int:
    context.step(lambda _: 1, name="first")
    batch = context.map(list(range(100)), lambda ctx, item, index, items: item, name="items")
    return sum(batch.get_results())


def _history() -> list[Any]:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(mapped)
        assert result.succeeded
        return result.history


def test_a_map_prints_progress_at_most_once_a_second_not_per_item() -> None:
    events = _history()
    seconds = [0.0]
    lines: list[str] = []
    progress = Progress(lines.append, "m-1", now=lambda: seconds[0])
    for start in range(0, len(events), 20):  # one read of the history per half second
        progress.feed(events[start : start + 20])
        seconds[0] += 0.5
    progress_lines = [line for line in lines if line.startswith("map ")]
    assert 0 < len(progress_lines) <= len(events) // 40 + 1
    assert all(" items done" in line for line in progress_lines)
    assert not any("map-item" in line for line in lines)
    assert lines[0].split() == ["step", "first", "succeeded"]
    assert lines[-1].split() == ["context", "items", "succeeded", "(100", "items)"]


def test_an_observed_run_shows_the_map_total_and_one_in_a_worker_what_started() -> None:
    observer = RunObserver()
    with Engine.in_memory() as engine:
        engine.register_function("fn", InProcessInvocable(mapped, engine.service, [observer]))
        arn = engine.start_execution("fn", None)
        assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED
        events = engine.history(arn, include_execution_data=False)
    assert observer.changed.is_set()
    [map_id] = [e.id for e in events if e.sub_type == "Map" and e.event_type.value == "ContextStarted"]
    assert observer.item_counts == {map_id: 100}
    for counts, pattern in (
        (observer.item_counts, r"\d+/100 items done"),
        (None, r"\d+ items done, \d+ started"),
    ):
        seconds = [0.0]
        lines: list[str] = []
        progress = Progress(lines.append, "m-1", now=lambda seconds=seconds: seconds[0], item_counts=counts)
        for start in range(0, len(events), 20):
            progress.feed(events[start : start + 20])
            seconds[0] += 0.5
        shown = [line for line in lines if line.startswith("map ")]
        assert shown and all(re.fullmatch(rf"map\s+items  {pattern}", line) for line in shown), shown


def test_no_progress_line_within_the_first_second() -> None:
    lines: list[str] = []
    progress = Progress(lines.append, "m-1", now=lambda: 0.0)
    progress.feed(_history())
    assert not any(line.startswith("map ") for line in lines)
    assert len(lines) == 2


@durable_execution
def two_callbacks(event: Any, context: DurableContext) -> None:
    context.create_callback(name="approval")
    context.create_callback()


def test_a_callback_line_gives_the_command_that_answers_it() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        state = runner.run_until_suspended(two_callbacks)
    started = [e for e in state.history if e.event_type.value == "CallbackStarted"]
    lines: list[str] = []
    Progress(lines.append, "order-42", db="work.db").feed(state.history)
    text = "\n".join(lines)
    named, unnamed = (e.details.callback_id for e in started)
    assert f"waiting, id {named}" in text and f"waiting, id {unnamed}" in text
    assert (
        "perdure callback succeed --execution order-42 --callback approval --result JSON --db work.db" in text
    )
    assert f"perdure callback succeed {unnamed} --result JSON --db work.db" in text


@durable_execution
def waits_for_approval(event: Any, context: DurableContext) -> None:
    context.wait_for_callback(lambda callback_id, _: None, name="approval")


def test_the_answer_hint_of_a_wait_for_callback_names_it_as_perdure_callback_takes_it() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        state = runner.run_until_suspended(waits_for_approval)
    lines: list[str] = []
    Progress(lines.append, "order-42").feed(state.history)
    (hint,) = [line for line in "\n".join(lines).splitlines() if "answer it:" in line]
    assert hint.endswith("perdure callback succeed --execution order-42 --callback approval --result JSON")


def test_a_run_in_memory_says_no_other_process_can_answer_its_callback() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        state = runner.run_until_suspended(waits_for_approval)
    lines: list[str] = []
    Progress(lines.append, "order-42", memory=True).feed(state.history)
    text = "\n".join(lines)
    assert "perdure callback succeed" not in text
    assert "no other process can answer it: this run keeps its executions in memory (--memory)" in text


@durable_execution
def spaced_callback(event: Any, context: DurableContext) -> None:
    context.create_callback(name="manager create callback id")


def test_the_answer_hint_pastes_into_a_shell_whatever_the_names() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        state = runner.run_until_suspended(spaced_callback)
    lines: list[str] = []
    Progress(lines.append, "order-42", db="my work.db").feed(state.history)
    (hint,) = [line for line in "\n".join(lines).splitlines() if "answer it:" in line]
    command = shlex.split(hint.split("answer it:", 1)[1])
    assert command == [
        *("perdure", "callback", "succeed", "--execution", "order-42"),
        *("--callback", "manager create callback id", "--result", "JSON", "--db", "my work.db"),
    ]


def test_the_resume_hint_pastes_into_a_shell(capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(
        memory=False, db="my work.db", input='{"who": "O\'Brien"}', target="my flow.py:handler"
    )
    _print_resume_hint(args, "run-1")
    hint = capsys.readouterr().err.split("resume it with:", 1)[1]
    assert shlex.split(hint) == [
        *("perdure", "run", "my flow.py:handler", "--name", "run-1"),
        *("--input", '{"who": "O\'Brien"}', "--db", "my work.db"),
    ]


@durable_execution
def unnamed(event: Any, context: DurableContext) -> None:
    context.step(lambda _: 1)
    context.map([1, 2], lambda ctx, item, index, items: item)


def test_an_unnamed_operation_shows_the_start_of_its_id_not_64_digits() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(unnamed)
    step_id = next(e.id for e in result.history if e.event_type.value == "StepSucceeded")
    assert step_id is not None and len(step_id) == 64
    lines: list[str] = []
    Progress(lines.append, "u-1", now=lambda: 0.0).feed(result.history)
    assert lines[0].split() == ["step", f"#{step_id[:8]}", "succeeded"]
    assert all(len(word) < 64 for line in lines for word in line.split())


def test_a_stalled_skip_time_run_points_at_the_history_command() -> None:
    def suspends_on_nothing(input: Any, context: Any) -> InvocationOutput:
        return InvocationOutput(InvocationStatus.PENDING)

    with Engine.in_memory() as engine:
        engine.register_function("fn", suspends_on_nothing)
        arn = engine.start_execution("fn", None, "stuck-1")
        with pytest.raises(EngineStalledError) as raised:
            drive_skipping(engine, arn, "stuck-1")
    assert str(raised.value) == (
        "execution stuck-1 is RUNNING but nothing is scheduled to resume it (see `perdure history stuck-1`)"
    )


@durable_execution
def flaky_reserve(event: Any, context: DurableContext) -> str:
    def reserve(step: StepContext) -> str:
        if step.attempt < 2:
            raise ConnectionError("warehouse unreachable")
        return "reserved"

    retry = StepConfig(retry_strategy=create_retry_strategy(RetryStrategyConfig(max_attempts=3)))
    return context.step(reserve, name="reserve", config=retry)


def test_a_failed_attempt_line_names_its_error() -> None:
    lines: list[str] = []
    with Engine.in_memory() as engine:
        engine.register_function("fn", InProcessInvocable(flaky_reserve, engine.service, []))
        arn = engine.start_execution("fn", None)
        follower = Follower(engine, arn, Progress(lines.append, "r-1")).start()
        assert drive_skipping(engine, arn, "r-1").status is ExecutionStatus.SUCCEEDED
        follower.stop()
    assert re.fullmatch(
        r"step\s+reserve  failed: ConnectionError: warehouse unreachable, retrying in \d+s", lines[0]
    )
    assert re.fullmatch(r"step\s+reserve  succeeded \(attempt 2\)", lines[1])


@durable_execution
def pauses(event: Any, context: DurableContext) -> str:
    context.wait(Duration.from_seconds(6), name="pause")
    return "done"


def test_a_resumed_run_shows_the_time_a_wait_has_left_not_its_whole_duration() -> None:
    with DurableTestRunner.start_time_skipping() as runner:
        history = runner.run_until_suspended(pauses).history
    started = next(e for e in history if e.event_type.value == "WaitStarted")

    def lines_since(since: datetime | None) -> list[str]:
        lines: list[str] = []
        Progress(lines.append, "p-1", since=since).feed(history)
        return [line for line in lines if line.startswith("wait ")]

    assert lines_since(None) == ["wait     pause  waiting 6s"]  # this run started the wait
    assert lines_since(started.event_timestamp + timedelta(seconds=2)) == [
        "wait     pause  waiting 4s more (of 6s)"
    ]
    assert lines_since(started.event_timestamp + timedelta(seconds=7)) == []  # over: its end line follows


def test_a_follower_whose_reader_went_away_stops_showing_and_never_raises_it() -> None:
    # `perdure run ... | head -1`: the run goes on; `stop` runs in a `finally`, where a
    # BrokenPipeError would replace the error that ended the run.
    def write(line: str) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    with Engine.in_memory() as engine:
        engine.register_function("fn", InProcessInvocable(flaky_reserve, engine.service, []))
        arn = engine.start_execution("fn", None)
        follower = Follower(engine, arn, Progress(write, "r-1")).start()
        assert drive_skipping(engine, arn, "r-1").status is ExecutionStatus.SUCCEEDED
        follower.stop()
        follower.stop()


def test_a_chained_invoke_points_at_the_invoked_history_only_where_it_is_kept() -> None:
    invoked = "arn:aws:lambda:us-east-1:000000000000:function:child:$LATEST/durable-execution/kid-1/abc"
    started = Event(
        EventType.CHAINED_INVOKE_STARTED,
        3,
        datetime(2026, 1, 1, tzinfo=UTC),
        id="1ced8f5be2db",
        name="ask",
        sub_type="ChainedInvoke",
        details=EventDetails(durable_execution_arn=invoked),
    )
    shown: dict[str, list[str]] = {"db": [], "memory": []}
    Progress(shown["db"].append, "r-1", db="work.db").feed([started])
    Progress(shown["memory"].append, "r-1", memory=True).feed([started])
    assert shown["db"][0].endswith("waiting for execution kid-1 (perdure history kid-1 --db work.db)")
    assert shown["memory"][0].endswith("waiting for execution kid-1")  # gone when the run ends
