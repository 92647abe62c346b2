"""`DurableTestRunner`: run durable handlers in tests, on the embedded engine.

    with DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(handler, input={"order_id": "o-1"})
        assert result.status == "SUCCEEDED"
        assert result.result == {"shipped": True}

The runner owns an `Engine` (a memory store and a virtual clock when time is skipped),
registers each handler through the in-process link (or, with `isolation="process"`,
through worker subprocesses), and drives executions to their end. A result carries the
status, the decoded result, the error, the history and a per-operation summary.

A test can also step an execution on the virtual clock and look between invocations:
`run_until_suspended` starts it and returns once nothing can run without time passing or a
callback arriving; `callback_id` finds a callback in the history and `send_callback_*`
completes it; `resume` runs what that made runnable (or jumps to the next timer);
`advance` moves the clock by a duration; `wait_for_result` runs to the end. See
docs/testing.md. Async tests await the twins (`arun`, `await_for_result`,
`arun_until_suspended`, `aresume`, `aadvance`); handlers, sync or `async def`, run alike.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Literal

from perdure.engine import Engine, EngineStalledError, VirtualClock
from perdure.engine.invoker import DEFAULT_INVOCATION_TIMEOUT_SECONDS, Invocable
from perdure.link.inprocess import InProcessInvocable
from perdure.link.logs import LogStore
from perdure.link.remote import HttpInvocable, is_function_url
from perdure.link.target import Target, as_lambda_handler, is_durable_handler
from perdure.sdk.errors import SerDesError
from perdure.sdk.serdes import EXTENDED_TYPES_SERDES, SerDesContext, as_declared
from perdure.wire.codec import to_wire
from perdure.wire.types import (
    ErrorObject,
    Event,
    EventType,
    ExecutionStatus,
    SendDurableExecutionCallbackFailureRequest,
    SendDurableExecutionCallbackHeartbeatRequest,
    SendDurableExecutionCallbackSuccessRequest,
    StopDurableExecutionRequest,
)

Isolation = Literal["inprocess", "process"]
_NAME_SAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class OperationSummary:
    """One operation as its history events tell it; `status` is the operation's own (AWS's
    operation status: PENDING while a step waits for its retry, READY when the retry is due)."""

    id: str
    type: str
    sub_type: str | None
    name: str | None
    parent_id: str | None
    status: str
    raw_result: str | None = None
    """The result as stored (the serdes text)."""
    error: ErrorObject | None = None
    attempts: int = 0

    @property
    def result(self) -> Any:
        """The result decoded by the default serdes (a value a custom serdes wrote that it
        cannot read is decoded as JSON, else returned as stored).

        The history holds no types: a dataclass or pydantic result reads as a dict, an enum
        as its value. `result_as(Quote)` gives it as the handler saw it.
        """
        return decode_operation_result(self.raw_result)

    def result_as(self, declared: Any) -> Any:
        """`result` converted to `declared` (say `Quote` or `list[Quote]`) by the rule the SDK
        applies to a declared return type.

        Raises:
            SerDesError: the stored value does not fit `declared`.
        """
        return as_declared(self.result, declared, f"operation {self.name or self.id!r} (id {self.id})")


@dataclass(frozen=True)
class ExecutionResult:
    """The outcome of one execution."""

    execution_arn: str
    status: str
    result: Any
    raw_result: str | None
    error: ErrorObject | None
    history: list[Event] = field(default_factory=list)
    operation_statuses: dict[str, str] = field(default_factory=dict)
    """Each operation's status (by id) as the engine holds it when the result was read."""

    @property
    def succeeded(self) -> bool:
        return self.status == ExecutionStatus.SUCCEEDED.value

    @property
    def is_running(self) -> bool:
        """Still RUNNING: suspended on a wait, a retry, a callback or an invoke."""
        return self.status == ExecutionStatus.RUNNING.value

    @property
    def invocations(self) -> int:
        return sum(1 for e in self.history if e.event_type is EventType.INVOCATION_COMPLETED)

    @property
    def operations(self) -> list[OperationSummary]:
        return summarize_operations(self.history, self.operation_statuses)

    def operation(self, name: str) -> OperationSummary:
        """The operation named `name` (KeyError if none)."""
        for op in self.operations:
            if op.name == name:
                return op
        raise KeyError(f"no operation named {name!r} (names: {[o.name for o in self.operations]})")

    def history_json(self) -> list[dict[str, Any]]:
        """The history as `GetDurableExecutionHistory` JSON dicts."""
        return [to_wire(e, timestamps="epoch_seconds") for e in self.history]


def decode_result(raw: str | None) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def decode_operation_result(raw: str | None) -> Any:
    """An operation's stored result as a value: the default serdes' reading, else JSON's, else `raw`."""
    if raw is None:
        return None
    try:
        return EXTENDED_TYPES_SERDES.deserialize(raw, SerDesContext())
    except SerDesError:
        return decode_result(raw)
    except ValueError:
        return raw


_STATUS_BY_EVENT = {
    "Started": "STARTED",
    "Succeeded": "SUCCEEDED",
    "Failed": "FAILED",
    "TimedOut": "TIMED_OUT",
    "Stopped": "STOPPED",
    "Cancelled": "CANCELLED",
}
_OPERATION_TYPES = {
    "Step": "STEP",
    "Wait": "WAIT",
    "Context": "CONTEXT",
    "Callback": "CALLBACK",
    "ChainedInvoke": "CHAINED_INVOKE",
}


def summarize_operations(
    history: list[Event], statuses: dict[str, str] | None = None
) -> list[OperationSummary]:
    """One summary per operation id, in order of first appearance.

    Args:
        history: the execution's events.
        statuses: operation statuses by id; an operation listed here takes its status from
            it, any other from its last event (which says FAILED for a step awaiting a retry).
    """
    statuses = statuses or {}
    found: dict[str, OperationSummary] = {}
    for event in history:
        if event.id is None:
            continue
        kind = next((k for k in _OPERATION_TYPES if event.event_type.value.startswith(k)), None)
        if kind is None:
            continue
        suffix = event.event_type.value[len(kind) :]
        status = _STATUS_BY_EVENT.get(suffix, suffix.upper())
        previous = found.get(event.id)
        details = event.details
        attempts = previous.attempts if previous else 0
        if event.event_type in (EventType.STEP_SUCCEEDED, EventType.STEP_FAILED):
            retry = details.retry_details
            attempts = retry.current_attempt if retry and retry.current_attempt else attempts + 1
        found[event.id] = OperationSummary(
            id=event.id,
            type=_OPERATION_TYPES[kind],
            sub_type=event.sub_type or (previous.sub_type if previous else None),
            name=event.name or (previous.name if previous else None),
            parent_id=event.parent_id or (previous.parent_id if previous else None),
            status=statuses.get(event.id, status),
            raw_result=details.result.payload
            if details.result
            else (previous.raw_result if previous else None),
            error=details.error.payload if details.error else None,
            attempts=attempts,
        )
    return list(found.values())


_CALLBACK_ENDS = (EventType.CALLBACK_SUCCEEDED, EventType.CALLBACK_FAILED, EventType.CALLBACK_TIMED_OUT)


def _context_names(history: list[Event]) -> dict[str | None, str | None]:
    return {e.id: e.name for e in history if e.event_type is EventType.CONTEXT_STARTED}


def _ended_callbacks(history: list[Event]) -> set[str | None]:
    return {e.id for e in history if e.event_type in _CALLBACK_ENDS}


def open_callbacks(history: list[Event]) -> list[str]:
    """The names of the callbacks in `history` that started and have not ended (the name
    given to `create_callback` or `wait_for_callback`; the operation id if it has none)."""
    context_names = _context_names(history)
    ended = _ended_callbacks(history)
    return [
        context_names.get(e.parent_id) or e.name or str(e.id)
        for e in history
        if e.event_type is EventType.CALLBACK_STARTED and e.id not in ended
    ]


def find_callback_id(history: list[Event], execution: str, name: str | None = None) -> str:
    """The id of a callback in an execution's `history`.

    Args:
        execution: the execution's name or ARN, for the messages.
        name: the callback's name, or the name given to `wait_for_callback`; None: the only
            callback still open. Of several with that name, the open one (else the last).

    Raises:
        LookupError: no such callback (the message lists the callbacks there are), or
            `name` is None and not exactly one callback is open.
    """
    context_names = {e.id: e.name for e in history if e.event_type is EventType.CONTEXT_STARTED}
    ended = {
        e.id
        for e in history
        if e.event_type
        in (EventType.CALLBACK_SUCCEEDED, EventType.CALLBACK_FAILED, EventType.CALLBACK_TIMED_OUT)
    }
    started = [e for e in history if e.event_type is EventType.CALLBACK_STARTED and e.details.callback_id]
    names = [context_names.get(e.parent_id) or e.name or "<unnamed>" for e in started]
    if name is None:
        candidates = [e for e in started if e.id not in ended]
        if len(candidates) != 1:
            raise LookupError(
                f"execution {execution} has {len(candidates)} open callbacks; name one (callbacks: {names})"
            )
    else:
        candidates = [e for e in started if name in (e.name, context_names.get(e.parent_id))]
        if not candidates:
            raise LookupError(f"execution {execution} has no callback named {name!r} (callbacks: {names})")
        candidates = [e for e in candidates if e.id not in ended] or candidates
    callback_id = candidates[-1].details.callback_id
    assert callback_id is not None
    return callback_id


class UndecoratedHandlerWarning(UserWarning):
    """A handler without `@durable_execution`: the runner runs it, AWS Lambda does not."""


def _warn_if_undecorated(handler: Callable[..., Any]) -> None:
    if not is_durable_handler(handler):
        name = getattr(handler, "__qualname__", repr(handler))
        warnings.warn(
            f"{name} is not decorated with @durable_execution: it runs here but fails on AWS"
            " Lambda; add `@durable_execution` (from perdure import durable_execution)",
            UndecoratedHandlerWarning,
            stacklevel=3,
        )


class DurableTestRunner:
    """Runs durable handlers on an embedded engine; use as a context manager.

    Args:
        engine: the engine to use (see the `start_*` constructors).
        capture_logs: keep each execution's log records (`logs(arn)`).
    """

    def __init__(self, engine: Engine, *, capture_logs: bool = True) -> None:
        self.engine = engine
        self.log_store = LogStore()
        self._capture = capture_logs
        self._registered: dict[int, str] = {}
        self._closers: list[Callable[[], None]] = []
        self._counter = itertools.count(1)
        self._log_context: Any = None

    # ---------------------------------------------------------- constructors

    @classmethod
    def start_time_skipping(cls, **engine_options: Any) -> DurableTestRunner:
        """A runner on a memory store whose clock skips waits and retry delays."""
        return cls(Engine.in_memory(skip_time=True, **engine_options))

    @classmethod
    def start_local(
        cls, db_path: str | None = None, *, skip_time: bool = False, **engine_options: Any
    ) -> DurableTestRunner:
        """A runner on a SQLite file (real time unless `skip_time`)."""
        return cls(Engine.open(db_path, skip_time=skip_time, **engine_options))

    # -------------------------------------------------------------- lifecycle

    def __enter__(self) -> DurableTestRunner:
        if self._capture:
            from perdure.link.logs import capture_logging

            self._log_context = capture_logging(self.log_store)
            self._log_context.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> DurableTestRunner:
        """`async with` in an async test, as `with` (the runner's calls have async twins)."""
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._log_context is not None:
            self._log_context.__exit__(None, None, None)
            self._log_context = None
        for closer in reversed(self._closers):
            closer()
        self._closers.clear()
        self.engine.close()

    # -------------------------------------------------------------- functions

    def register(
        self,
        handler: Callable[..., Any] | str,
        name: str | None = None,
        *,
        isolation: Isolation = "inprocess",
        aliases: tuple[str, ...] = (),
        invocation_timeout: float = DEFAULT_INVOCATION_TIMEOUT_SECONDS,
    ) -> str:
        """Register a handler (a decorated function, or a target string) and return its name.

        Args:
            handler: a `@durable_execution` handler, a target string, or the URL of a remote
                function (`http://HOST:PORT`, invoked through the Lambda Invoke API there;
                `name` is then required).
            name: the function name, which `context.invoke(name, ...)` of another handler calls
                (default: derived from the handler, e.g. `orders-1`).
            isolation: `"inprocess"`, or `"process"` (worker subprocesses; needs a target
                string, `path/file.py:func` or `module:func`, since the worker imports it).
            aliases: more names the function answers to.
            invocation_timeout: seconds an invocation of a remote function may take.
        """
        if not isinstance(handler, str) and id(handler) in self._registered and name is None:
            return self._registered[id(handler)]
        invocable: Invocable
        if isinstance(handler, str) and is_function_url(handler):
            if name is None:
                raise ValueError(f"a remote function needs a name: register({handler!r}, name=...)")
            function_name = name
            invocable = HttpInvocable(name, handler, timeout=invocation_timeout)
        elif isinstance(handler, str):
            target = Target.parse(handler)
            function_name = name or target.function_name
            if isolation == "process":
                from perdure.link.process import ProcessInvocable

                process = ProcessInvocable(handler, self.engine.service, log_sink=self.log_store)
                self._closers.append(process.close)
                invocable = process
            else:
                loaded = target.load()
                _warn_if_undecorated(loaded)
                invocable = InProcessInvocable(as_lambda_handler(loaded), self.engine.service)
        else:
            if isolation == "process":
                raise ValueError("process isolation needs a target string such as 'flows/order.py:handler'")
            if name is None:
                raw = str(getattr(handler, "__name__", "handler"))
                function_name = f"{_NAME_SAFE.sub('-', raw)[:56]}-{next(self._counter)}"
            else:
                function_name = name
            _warn_if_undecorated(handler)
            invocable = InProcessInvocable(as_lambda_handler(handler), self.engine.service)
            self._registered[id(handler)] = function_name
        self.engine.register_function(function_name, invocable, aliases)
        return function_name

    # ------------------------------------------------------------- executions

    def start(
        self,
        handler: Callable[..., Any] | str,
        input: Any = None,
        *,
        execution_name: str | None = None,
        execution_timeout: int | None = None,
    ) -> str:
        """Start an execution (without running it) and return its ARN.

        Args:
            handler: a decorated handler, a target string, or the name of a registered function.
            input: the execution input (JSON-serialisable).
            execution_name: the idempotency name (default: a fresh uuid).
            execution_timeout: its ExecutionTimeout in seconds (default: the engine's, a week).
        """
        if isinstance(handler, str) and self.engine.registry.get(handler) is not None:
            function_name = handler
        else:
            function_name = self.register(handler)
        return self.engine.start_execution(
            function_name, json.dumps(input), execution_name, execution_timeout=execution_timeout
        )

    def run(
        self,
        handler: Callable[..., Any] | str,
        input: Any = None,
        *,
        execution_name: str | None = None,
        execution_timeout: int | None = None,
    ) -> ExecutionResult:
        """Start an execution and drive it to its end."""
        arn = self.start(handler, input, execution_name=execution_name, execution_timeout=execution_timeout)
        return self.wait_for_result(arn)

    def wait_for_result(self, arn: str) -> ExecutionResult:
        """Drive execution `arn` to its end (skipping waits on the virtual clock) and return it.

        Raises:
            EngineStalledError: on the virtual clock, it waits for a callback nobody sends
                (the message says which runner calls deliver it).
        """
        try:
            self.engine.drive(arn)
        except EngineStalledError:
            raise self._stalled(arn) from None
        return self.result(arn)

    def _stalled(self, arn: str) -> EngineStalledError:
        """Why `arn` stalled, told with the runner calls that move it."""
        waiting = open_callbacks(self.engine.history(arn, include_execution_data=False))
        if not waiting:
            return EngineStalledError(
                f"execution {arn} is RUNNING and nothing can move it on the virtual clock: no wait or"
                " retry is scheduled and it has no open callback of its own (an execution it invoked"
                " may wait for one: find it with `runner.result(arn).operations` and deliver it with"
                " `runner.send_callback_success(runner.callback_id(invoked_arn, NAME), result)`)"
            )
        name = waiting[0]
        return EngineStalledError(
            f"execution {arn} waits for callback {name!r} ({len(waiting)} open) and nothing else can"
            " move it on the virtual clock. Start it with `arn = runner.start(handler, input)`, then"
            f" `runner.send_callback_success(runner.wait_for_callback(arn, {name!r}), '\"value\"')` (or"
            " send_callback_failure), then `runner.wait_for_result(arn)` (a callback with a timeout"
            " would time out on the virtual clock instead)"
        )

    # -------------------------------------------------------------- stepping

    def run_until_suspended(
        self,
        handler: Callable[..., Any] | str,
        input: Any = None,
        *,
        execution_name: str | None = None,
        execution_timeout: int | None = None,
    ) -> ExecutionResult:
        """Start an execution and run it until it ends or nothing can run without time passing
        or a callback arriving; time does not move. Returns the state at that point."""
        arn = self.start(handler, input, execution_name=execution_name, execution_timeout=execution_timeout)
        self.engine.run_until_idle()
        return self.result(arn)

    def resume(self, arn: str) -> ExecutionResult:
        """Run what is runnable now (say, after `send_callback_success`); if nothing is, jump the
        virtual clock to the next timer (a wait, a retry) and run what that makes runnable.
        Returns the state once it is suspended again or ended.

        Raises:
            EngineStalledError: the execution is RUNNING and nothing can move it (a callback
                nobody has sent; the clock does not jump to a lone ExecutionTimeout).
            TypeError: the runner is on real time.
        """
        clock = self._virtual_clock("resume")
        before = self._progress(arn)
        self.engine.run_until_idle()
        if self._progress(arn) == before and self.engine.get_execution(arn).status is ExecutionStatus.RUNNING:
            due = self.engine.next_due_time()
            if due is None:
                raise EngineStalledError(
                    f"execution {arn} waits for something only the test can do: nothing is scheduled."
                    " Deliver its callback with `runner.send_callback_success(runner.callback_id(arn,"
                    " NAME), result)` (or send_callback_failure), or `runner.advance(seconds)` past"
                    " its ExecutionTimeout"
                )
            clock.advance_to(due)
            self.engine.run_until_idle()
        return self.result(arn)

    def advance(self, duration: timedelta | float) -> None:
        """Move the virtual clock by `duration` (a timedelta or seconds), firing every timer due
        on the way in order, and run what becomes runnable (as Temporal's `env.sleep`)."""
        clock = self._virtual_clock("advance")
        step = duration if isinstance(duration, timedelta) else timedelta(seconds=duration)
        target = clock.now() + step
        while True:
            self.engine.run_until_idle()
            due = self._next_timer()
            if due is None or due > target:
                break
            clock.advance_to(due)
        clock.advance_to(target)
        self.engine.run_until_idle()

    # ------------------------------------------------------- awaitable twins
    # For async tests: the same calls on a worker thread, so the test's event loop keeps
    # running while the engine drives the execution (one call at a time per runner).

    async def arun(
        self,
        handler: Callable[..., Any] | str,
        input: Any = None,
        *,
        execution_name: str | None = None,
        execution_timeout: int | None = None,
    ) -> ExecutionResult:
        """`run`, awaitable."""
        return await asyncio.to_thread(
            self.run, handler, input, execution_name=execution_name, execution_timeout=execution_timeout
        )

    async def await_for_result(self, arn: str) -> ExecutionResult:
        """`wait_for_result`, awaitable."""
        return await asyncio.to_thread(self.wait_for_result, arn)

    async def arun_until_suspended(
        self,
        handler: Callable[..., Any] | str,
        input: Any = None,
        *,
        execution_name: str | None = None,
        execution_timeout: int | None = None,
    ) -> ExecutionResult:
        """`run_until_suspended`, awaitable."""
        return await asyncio.to_thread(
            self.run_until_suspended,
            handler,
            input,
            execution_name=execution_name,
            execution_timeout=execution_timeout,
        )

    async def aresume(self, arn: str) -> ExecutionResult:
        """`resume`, awaitable."""
        return await asyncio.to_thread(self.resume, arn)

    async def await_for_callback(self, arn: str, name: str | None = None) -> str:
        """`wait_for_callback`, awaitable."""
        return await asyncio.to_thread(self.wait_for_callback, arn, name)

    async def aadvance(self, duration: timedelta | float) -> None:
        """`advance`, awaitable."""
        await asyncio.to_thread(self.advance, duration)

    def stop(self, arn: str, error: ErrorObject | None = None) -> ExecutionResult:
        """`StopDurableExecution`: end it STOPPED (and the executions its invokes started)."""
        self.engine.service.stop_durable_execution(StopDurableExecutionRequest(arn, error))
        return self.result(arn)

    def _virtual_clock(self, what: str) -> VirtualClock:
        clock = self.engine.clock
        if not isinstance(clock, VirtualClock):
            raise TypeError(f"{what} needs the virtual clock: use DurableTestRunner.start_time_skipping()")
        return clock

    def _next_timer(self) -> datetime | None:
        return self.engine.scheduler.next_wake_time()

    def _progress(self, arn: str) -> int:
        return len(self.engine.history(arn, include_execution_data=False))

    # ------------------------------------------------------------- callbacks

    def callback_id(self, arn: str, name: str | None = None) -> str:
        """The id of a callback of execution `arn`, read from its history.

        Args:
            name: the callback's name, or the name given to `wait_for_callback`; None: the
                only callback still open.

        Raises:
            LookupError: no such callback (the message lists the callbacks there are), or
                `name` is None and not exactly one callback is open.
        """
        history = self.engine.history(arn, include_execution_data=False)
        try:
            return find_callback_id(history, arn, name)
        except LookupError as exc:
            raise LookupError(f"{exc}; {self._waiting_on(arn, name)}") from None

    def _waiting_on(self, arn: str, name: str | None) -> str:
        """What execution `arn` waits on now, for a message that found no callback."""
        state = self.result(arn)
        if not state.is_running:
            return f"the execution has ended ({state.status})"
        what = {
            ("WAIT", "STARTED"): "wait",
            ("STEP", "PENDING"): "the retry of step",
            ("STEP", "READY"): "the retry of step",
            ("STEP", "STARTED"): "step",
            ("CHAINED_INVOKE", "STARTED"): "invoke",
            ("CALLBACK", "STARTED"): "callback",
        }
        waits = [
            f"{what[(op.type, op.status)]} {op.name or op.id!r}"
            for op in state.operations
            if (op.type, op.status) in what
        ]
        on = ", ".join(waits) if waits else "nothing the history shows"
        named = f"arn, {name!r}" if name is not None else "arn"
        return (
            f"it is waiting on {on}: `runner.wait_for_callback({named})` runs it (skipping waits"
            " and retry delays) until the callback opens"
        )

    def wait_for_callback(self, arn: str, name: str | None = None) -> str:
        """Run execution `arn` on the virtual clock, skipping its waits and retry delays, until
        callback `name` is open, and return its id (the official testing library's name).

        Args:
            name: the callback's name, or the name given to `wait_for_callback`; None: the
                first callback open.

        Raises:
            LookupError: the execution ended without opening that callback.
            EngineStalledError: it is RUNNING, that callback is not open and nothing can move it.
            TypeError: the runner is on real time.
        """
        self._virtual_clock("wait_for_callback")
        while True:
            history = self.engine.history(arn, include_execution_data=False)
            context_names = _context_names(history)
            ended = _ended_callbacks(history)
            for event in history:
                if (
                    event.event_type is EventType.CALLBACK_STARTED
                    and event.id not in ended
                    and event.details.callback_id
                    and (name is None or name in (event.name, context_names.get(event.parent_id)))
                ):
                    return event.details.callback_id
            status = self.engine.get_execution(arn).status
            if status is not ExecutionStatus.RUNNING:
                wanted = "a callback" if name is None else f"callback {name!r}"
                raise LookupError(f"execution {arn} ended {status.value} without opening {wanted}")
            self.resume(arn)

    def send_callback_success(self, callback_id: str, result: bytes | str | None = None) -> None:
        """Complete a callback; `result` is delivered verbatim (a str is sent as UTF-8)."""
        raw = result.encode("utf-8") if isinstance(result, str) else result
        self.engine.service.send_durable_execution_callback_success(
            SendDurableExecutionCallbackSuccessRequest(callback_id, raw)
        )

    def send_callback_failure(self, callback_id: str, error: ErrorObject | None = None) -> None:
        """Fail a callback with `error` (recorded verbatim)."""
        self.engine.service.send_durable_execution_callback_failure(
            SendDurableExecutionCallbackFailureRequest(callback_id, error)
        )

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Restart the callback's heartbeat timeout."""
        self.engine.service.send_durable_execution_callback_heartbeat(
            SendDurableExecutionCallbackHeartbeatRequest(callback_id)
        )

    # --------------------------------------------------------------- reading

    def result(self, arn: str) -> ExecutionResult:
        """The current state of execution `arn`."""
        execution = self.engine.get_execution(arn)
        return ExecutionResult(
            execution_arn=arn,
            status=execution.status.value,
            result=decode_result(execution.result),
            raw_result=execution.result,
            error=execution.error,
            history=self.engine.history(arn),
            operation_statuses={
                op.id: op.status.value for _, op in self.engine.service.operation_summaries(arn)[1]
            },
        )

    def logs(self, arn: str) -> list[dict[str, Any]]:
        """The log records captured for execution `arn`."""
        return self.log_store.records(arn)
