"""`perdure run`'s live view, and how it drives an execution with `--skip-time`.

`Progress` turns history events into lines: one per operation as it ends, one when a wait,
a callback (with its full id and the command that answers it) or a chained invoke (with
the invoked execution's name) starts, and,
for a map, a progress line at most once a second instead of one line per item: items done
out of the map's total where the run observes its handler (`RunObserver`), else items done
and items started so far (a map with a concurrency limit starts its items as others end).

`Follower` feeds `Progress` from the history on a thread of its own until told to stop (so
`drive` keeps the main thread, and Ctrl-C interrupts it). The history does not carry a
map's item count, and the engine announces no checkpoint, so a handler run in this
process (`--isolation inprocess`) is observed through the SDK's plugin hooks: `RunObserver`
is a plugin factory the in-process link adds to each invocation; it records each map's
item count (`OperationStartInfo.branch_count`) and wakes the follower when an operation
ends or an invocation does. Without it (`--isolation process`: the handler runs in a
worker) the follower reads the history every `POLL_SECONDS`.

`drive_skipping` is `--skip-time`'s driver: waits and retry delays are skipped, but while a
callback is open (the execution's own, or one an execution it invoked waits for) the
virtual clock follows real time, so another process (`perdure callback`) can answer it
before its timeout.

Imports the engine, the SDK's plugin types, the wire types and the test runner's history
readers.
"""

from __future__ import annotations

import math
import shlex
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from perdure.engine import Engine, EngineStalledError
from perdure.sdk.plugin import (
    DurableInstrumentationPlugin,
    InvocationEndInfo,
    InvocationStartInfo,
    OperationEndInfo,
    OperationStartInfo,
)
from perdure.testing.runner import open_callbacks
from perdure.wire.types import (
    DurableExecutionArn,
    Event,
    EventType,
    ExecutionStatus,
    GetDurableExecutionHistoryRequest,
    GetDurableExecutionResponse,
)

POLL_SECONDS = 0.2
"""How often the live view reads new history events when nothing wakes it (a handler in a
worker process, `history --follow` over `--endpoint`), and `--skip-time` looks for a
callback's answer."""
OBSERVED_POLL_SECONDS = 1.0
"""How often the live view of an observed run reads the history unwoken (events no hook of
the handler reports: an invocation that crashed)."""
COALESCE_SECONDS = 0.05
"""The least time between two reads of the history: a burst of wake-ups (the items of a
map ending) is read at once."""

_KINDS = {
    "Step": "step",
    "Wait": "wait",
    "Context": "context",
    "Callback": "callback",
    "ChainedInvoke": "invoke",
}
_ENDINGS = {
    "Succeeded": "succeeded",
    "Failed": "failed",
    "TimedOut": "timed out",
    "Stopped": "stopped",
    "Cancelled": "cancelled",
}


@dataclass
class _MapProgress:
    name: str
    started: int = 0
    done: int = 0
    shown_at: float = 0.0
    shown: int = 0


class RunObserver:
    """A plugin factory observing the handler a run executes in this process.

    `item_counts` maps a map's (or parallel's) operation id to its item (branch) count,
    recorded before its START is checkpointed; `changed` is set whenever the history may
    have grown (an operation ended, an invocation ended).
    """

    def __init__(self) -> None:
        self.item_counts: dict[str, int] = {}
        self.changed = threading.Event()

    def create_plugin(self, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
        return _ObserverPlugin(self)


class _ObserverPlugin(DurableInstrumentationPlugin):
    # on_operation_change is not overridden: its infos copy every operation per call.

    def __init__(self, observer: RunObserver) -> None:
        self._observer = observer

    def on_operation_start(self, info: OperationStartInfo) -> None:
        if info.branch_count is not None:
            self._observer.item_counts[info.operation_id] = info.branch_count

    def on_operation_end(self, info: OperationEndInfo) -> None:
        self._observer.changed.set()

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self._observer.changed.set()


class Progress:
    """Writes one line per event worth a line (see the module docstring).

    Args:
        write: where lines go.
        execution: the execution's name, for the `perdure callback` hint.
        db: the database file the run was given (`--db`), for the same hint.
        now: a monotonic clock in seconds (a map prints at most one progress line per second).
        item_counts: each map's item count by operation id, where known (`RunObserver`).
        memory: the run keeps its executions in memory (`--memory`): no other process can
            answer a callback.
        since: when this run began, on the engine's clock: a wait that started before (a
            resumed run) is shown with the time it had left then, or not at all if it was over.
    """

    def __init__(
        self,
        write: Callable[[str], None],
        execution: str,
        db: str | None = None,
        now: Callable[[], float] = time.monotonic,
        item_counts: Mapping[str, int] | None = None,
        memory: bool = False,
        since: datetime | None = None,
    ):
        self._write = write
        self._execution = execution
        self._db = f" --db {shlex.quote(db)}" if db else ""
        self._now = now
        self._memory = memory
        self._since = since
        self._item_counts: Mapping[str, int] = item_counts if item_counts is not None else {}
        self._maps: dict[str, _MapProgress] = {}
        self._in_map: dict[str, str] = {}  # operation id -> the outermost map it runs under
        self._names: dict[str, str] = {}  # operation id -> name, for context names of callbacks
        self._waits_for_callback: dict[str, str] = {}  # a wait_for_callback's id -> its name

    def feed(self, events: list[Event]) -> None:
        """Write the lines `events` (the next ones of the history) call for."""
        for event in events:
            self._event(event)
        now = self._now()
        for map_id, progress in self._maps.items():
            if progress.done > progress.shown and now - progress.shown_at >= 1.0:
                progress.shown, progress.shown_at = progress.done, now
                total = self._item_counts.get(map_id)
                counted = (
                    f"{progress.done}/{total} items done"
                    if total is not None
                    else f"{progress.done} items done, {progress.started} started"
                )
                self._write(f"{'map':<8} {progress.name}  {counted}")

    def _event(self, event: Event) -> None:
        kind = next((k for k in _KINDS if event.event_type.value.startswith(k)), None)
        if kind is None or event.id is None:
            return
        if event.name:
            self._names[event.id] = event.name
            if event.sub_type == "WaitForCallback":
                self._waits_for_callback[event.id] = event.name
        outer = self._in_map.get(event.parent_id or "") or (
            event.parent_id if event.parent_id in self._maps else None
        )
        if outer is not None:
            self._in_map[event.id] = outer
            if event.parent_id == outer and event.sub_type == "MapIteration":
                self._map_item(self._maps[outer], event)
            return
        ending = event.event_type.value[len(kind) :]
        label = f"{_KINDS[kind]:<8} {short_name(event)}"
        if event.event_type is EventType.CONTEXT_STARTED and event.sub_type == "Map":
            self._maps[event.id] = _MapProgress(short_name(event), shown_at=self._now())
            return
        if event.event_type is EventType.WAIT_STARTED:
            line = self._wait_line(label, event)
            if line is not None:
                self._write(line)
        elif event.event_type is EventType.CHAINED_INVOKE_STARTED and event.details.durable_execution_arn:
            invoked = execution_name(event.details.durable_execution_arn)
            # Under --memory the invoked execution's history is gone when the run ends.
            see = "" if self._memory else f" (perdure history {shlex.quote(invoked)}{self._db})"
            self._write(f"{label}  waiting for execution {invoked}{see}")
        elif event.event_type is EventType.CALLBACK_STARTED:
            # `--callback` takes a wait_for_callback's own name for the callback inside it.
            parent = event.parent_id or ""
            name = self._waits_for_callback.get(parent) or event.name or self._names.get(parent)
            target = (
                f"--execution {shlex.quote(self._execution)} --callback {shlex.quote(name)}"
                if name
                else shlex.quote(str(event.details.callback_id))
            )
            answer = (
                "no other process can answer it: this run keeps its executions in memory (--memory);"
                " run with --db PATH to answer it with `perdure callback`"
                if self._memory
                else f"answer it: perdure callback succeed {target} --result JSON{self._db}"
            )
            self._write(f"{label}  waiting, id {event.details.callback_id}\n{'':<9}{answer}")
        elif ending in _ENDINGS:
            self._write(f"{label}  {_ENDINGS[ending]}{self._suffix(event)}")
            self._maps.pop(event.id, None)

    def _wait_line(self, label: str, event: Event) -> str | None:
        seconds = event.details.duration
        end, since = event.details.scheduled_end_timestamp, self._since
        if since is not None and end is not None and event.event_timestamp < since:
            left = math.ceil((end - since).total_seconds())
            return f"{label}  waiting {left}s more (of {seconds}s)" if left > 0 else None
        return f"{label}  waiting {seconds}s" if seconds is not None else f"{label}  waiting"

    def _suffix(self, event: Event) -> str:
        if event.id in self._maps:
            progress = self._maps[event.id]
            return f" ({progress.done} items)"
        error = event.details.error.payload if event.details.error else None
        retry = event.details.retry_details
        parts = []
        if retry is not None and retry.current_attempt and retry.current_attempt > 1:
            parts.append(f" (attempt {retry.current_attempt})")
        if error is not None:
            parts.append(f": {error.error_type}: {error.error_message}")
        if retry is not None and retry.next_attempt_delay_seconds:
            parts.append(f", retrying in {retry.next_attempt_delay_seconds}s")
        return "".join(parts)

    def _map_item(self, progress: _MapProgress, event: Event) -> None:
        if event.event_type is EventType.CONTEXT_STARTED:
            progress.started += 1
            return
        if event.event_type not in (EventType.CONTEXT_SUCCEEDED, EventType.CONTEXT_FAILED):
            return
        progress.done += 1


def execution_name(arn: str) -> str:
    """The execution name an ARN holds (the ARN itself when it is not one perdure makes)."""
    try:
        return DurableExecutionArn.parse(arn).execution_name
    except ValueError:
        return arn


def short_name(event: Event) -> str:
    """The operation's name, or, unnamed, the start of its id (`#` and 8 hex digits): a
    64-digit id is noise in a progress line, and 8 digits tell operations apart."""
    return event.name or f"#{(event.id or '')[:8]}"


def new_events(
    engine: Engine, arn: str, after: int | None, *, include_execution_data: bool = False
) -> list[Event]:
    """The events of `arn` after event id `after` (all when None), without payloads unless
    `include_execution_data`."""
    events: list[Event] = []
    marker = None if after is None else str(after)
    while True:
        page = engine.service.get_durable_execution_history(
            GetDurableExecutionHistoryRequest(
                arn, include_execution_data=include_execution_data, marker=marker
            )
        )
        events.extend(page.events)
        if page.next_marker is None:
            return events
        marker = page.next_marker


class Follower:
    """Feeds `progress` with `arn`'s new events on a thread, until `stop()` (which feeds the last).

    Args:
        wake: set when the history may have grown (`RunObserver.changed`); None: poll it.
    """

    def __init__(
        self, engine: Engine, arn: str, progress: Progress, wake: threading.Event | None = None
    ) -> None:
        self._engine = engine
        self._arn = arn
        self._progress = progress
        self._last: int | None = None
        self._stop = threading.Event()
        self._wake = wake if wake is not None else threading.Event()
        self._idle_seconds = OBSERVED_POLL_SECONDS if wake is not None else POLL_SECONDS
        self._thread = threading.Thread(target=self._loop, name="perdure-progress", daemon=True)
        self._broken = False
        """The output's reader went away: nothing more is shown."""

    def start(self, skip_existing: bool = False) -> Follower:
        if skip_existing:
            events = new_events(self._engine, self._arn, None)
            self._last = events[-1].event_id if events else None
        self._thread.start()
        return self

    def _read(self) -> None:
        events = new_events(self._engine, self._arn, self._last)
        if any(e.details.error is not None for e in events):
            # A failure's line shows its error, which a read without payloads leaves out.
            events = new_events(self._engine, self._arn, self._last, include_execution_data=True)
        if events:
            self._last = events[-1].event_id
            self._progress.feed(events)

    def _loop(self) -> None:
        while True:
            self._wake.wait(self._idle_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._read()
            except BrokenPipeError:
                self._broken = True  # the output's reader went away; the run goes on
                return
            if self._stop.wait(COALESCE_SECONDS):
                return

    def stop(self) -> None:
        """Stop following and show the last events. Never raises `BrokenPipeError`: it runs
        in a `finally`, where it would replace the error that ended the run."""
        self._stop.set()
        self._wake.set()
        self._thread.join()
        if self._broken:
            return
        try:
            self._read()
        except BrokenPipeError:
            self._broken = True


def has_open_callback(engine: Engine, arn: str) -> bool:
    """Whether execution `arn` has a callback that started and has not ended, itself or in
    an execution it invoked and still waits for (at any depth)."""
    events = new_events(engine, arn, None)
    if open_callbacks(events):
        return True
    ended = {e.id for e in events if e.event_type in _INVOKE_ENDS}
    return any(
        has_open_callback(engine, e.details.durable_execution_arn)
        for e in events
        if e.event_type is EventType.CHAINED_INVOKE_STARTED
        and e.id not in ended
        and e.details.durable_execution_arn
    )


_INVOKE_ENDS = frozenset(
    {
        EventType.CHAINED_INVOKE_SUCCEEDED,
        EventType.CHAINED_INVOKE_FAILED,
        EventType.CHAINED_INVOKE_TIMED_OUT,
        EventType.CHAINED_INVOKE_STOPPED,
    }
)


def drive_skipping(engine: Engine, arn: str, name: str) -> GetDurableExecutionResponse:
    """Run `arn` to its end on the virtual clock, skipping waits and retry delays; while a
    callback is open, the clock moves with real time (another process may answer it).

    Raises:
        EngineStalledError: the execution is RUNNING and nothing can resume it.
    """
    while True:
        engine.run_until_idle()
        execution = engine.get_execution(arn)
        if execution.status is not ExecutionStatus.RUNNING:
            return execution
        due = engine.next_due_time()
        if has_open_callback(engine, arn):
            engine.follow_real_time(due, POLL_SECONDS)
            continue
        if due is None:
            raise EngineStalledError(
                f"execution {name} is RUNNING but nothing is scheduled to resume it"
                f" (see `perdure history {shlex.quote(name)}`)"
            )
        engine.advance_to(due)
