"""The driver loop: runs one requirement against a backend on a virtual clock.

It replays the reference runner's flow. The execution runs until it is
idle; if it is not finished, the driver emulates the runner's poll (every 2 s of virtual
time): new `CallbackStarted` events are matched to `CallbackActions` (first unused action
whose name is `'*'`, equal, or a `${/re/}` match; a heartbeat does not consume the
callback) and queued at poll time + `Delay`, serialised as the runner's blocking sleeps
are. Time then jumps to the earliest of the next engine timer and the next queued action.
History-only requirements (async, no `ExpectedResult`) stop as soon as the expected
events match. The same loop serves synchronous requirements: no callback ever appears.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .checks import check_logs, check_result
from .history import match_history
from .placeholders import Placeholders, regex_of
from .requirement import Requirement

POLL_INTERVAL_SECONDS = 2.0
MAX_VIRTUAL_SECONDS = 8000.0  # longer than any execution timeout the suite configures (7200 s)
_FAILURE_KEYS = ("ErrorType", "ErrorMessage", "ErrorData", "StackTrace")


class ConformanceBackend(Protocol):
    """What the driver needs from an engine (virtual clock, seconds)."""

    def start(self, payload_json: str) -> str: ...

    def run_until_idle(self, arn: str) -> None: ...

    def next_due(self, arn: str) -> float | None: ...

    def advance_to(self, when: float) -> None: ...

    def now(self) -> float: ...

    def history(self, arn: str) -> list[dict[str, Any]]: ...

    def describe(self, arn: str) -> tuple[str, str | None]: ...

    def callback_success(self, callback_id: str, result: bytes | None) -> None: ...

    def callback_failure(self, callback_id: str, error: Mapping[str, Any]) -> None: ...

    def callback_heartbeat(self, callback_id: str) -> None: ...

    def logs(self, arn: str) -> list[dict[str, Any]]: ...


class DriverError(Exception):
    """The requirement could not be driven to a verdict (stuck, timed out, bad action)."""


@dataclass
class _Queued:
    when: float
    callback_id: str
    action: Mapping[str, Any]


@dataclass
class _Callbacks:
    actions: list[Mapping[str, Any]]
    used: set[int] = field(default_factory=set)
    handled: set[str] = field(default_factory=set)
    queue: list[_Queued] = field(default_factory=list)


def _name_matches(pattern: Any, name: Any) -> bool:
    if pattern == "*":
        return True
    regex = regex_of(pattern)
    if regex is not None:
        return name is not None and re.search(regex, str(name)) is not None
    return bool(pattern == name)


def _terminal(status: str) -> bool:
    return status not in ("RUNNING", "PENDING")


class Driver:
    """Runs one requirement; `run` returns None when it passed, else the first mismatch."""

    def __init__(
        self,
        requirement: Requirement,
        backend: ConformanceBackend,
        *,
        max_virtual_seconds: float | None = None,
    ) -> None:
        self.requirement = requirement
        self.backend = backend
        self.ctx = Placeholders()
        self.max_virtual_seconds = max_virtual_seconds or MAX_VIRTUAL_SECONDS
        self.arn: str | None = None

    def run(self) -> str | None:
        req = self.requirement
        self.ctx.bind_variables(req.variables)
        payload = json.dumps(self.ctx.substitute(req.input))
        arn = self.arn = self.backend.start(payload)
        self._drive(arn)
        expected = req.expected_history
        if not expected:
            return "ExpectedExecutionHistory is empty"
        errors = match_history(expected, self.backend.history(arn), self.ctx)
        if errors:
            return errors[0]
        if req.expected_result is not None:
            status, result = self.backend.describe(arn)
            problem = check_result(req.expected_result, status, result, self.ctx)
            if problem is not None:
                return problem
        if req.expected_logs:
            return check_logs(req.expected_logs, self.backend.logs(arn), self.ctx)
        return None

    # ------------------------------------------------------------------ the loop

    def _drive(self, arn: str) -> None:
        req = self.requirement
        backend = self.backend
        callbacks = _Callbacks(actions=[self.ctx.substitute(dict(a)) for a in req.callback_actions])
        start = backend.now()
        history_only = req.is_async and req.expected_result is None
        while True:
            backend.run_until_idle(arn)
            status, _ = backend.describe(arn)
            if _terminal(status):
                return
            if history_only and not match_history(
                req.expected_history, backend.history(arn), Placeholders(self.ctx.bound)
            ):
                return
            self._queue_callbacks(arn, callbacks)
            due_timer = backend.next_due(arn)
            due_action = min((q.when for q in callbacks.queue), default=None)
            candidates = [t for t in (due_timer, due_action) if t is not None]
            if not candidates:
                raise DriverError(f"execution {status} with no timer due and no callback action to send")
            when = max(min(candidates), backend.now())
            if when - start > self.max_virtual_seconds:
                raise DriverError(f"execution still {status} after {when - start:.0f} virtual seconds")
            backend.advance_to(when)
            for queued in sorted((q for q in callbacks.queue if q.when <= when), key=lambda q: q.when):
                callbacks.queue.remove(queued)
                self._send(queued)
                backend.run_until_idle(arn)

    def _queue_callbacks(self, arn: str, callbacks: _Callbacks) -> None:
        poll_at = self.backend.now() + POLL_INTERVAL_SECONDS
        for event in self.backend.history(arn):
            if event.get("EventType") != "CallbackStarted":
                continue
            callback_id = str((event.get("CallbackStartedDetails") or {}).get("CallbackId", ""))
            if not callback_id or callback_id in callbacks.handled:
                continue
            if any(q.callback_id == callback_id for q in callbacks.queue):
                continue
            if not callbacks.actions:
                callbacks.handled.add(callback_id)  # left open: a timeout test
                continue
            index = self._find_action(callbacks, event.get("Name"))
            if index is None:
                raise DriverError(f"no CallbackAction matches callback {event.get('Name')!r}")
            action = callbacks.actions[index]
            callbacks.used.add(index)
            if str(action.get("Operation", "success")).lower() != "heartbeat":
                callbacks.handled.add(callback_id)
            poll_at += float(action.get("Delay") or 0)
            callbacks.queue.append(_Queued(poll_at, callback_id, action))

    @staticmethod
    def _find_action(callbacks: _Callbacks, name: Any) -> int | None:
        for index, action in enumerate(callbacks.actions):
            if index not in callbacks.used and _name_matches(action.get("CallbackName", "*"), name):
                return index
        return None

    def _send(self, queued: _Queued) -> None:
        action = queued.action
        operation = str(action.get("Operation", "success")).lower()
        if operation == "success":
            payload = json.dumps(action["Payload"]).encode() if "Payload" in action else None
            self.backend.callback_success(queued.callback_id, payload)
        elif operation == "failure":
            raw = action.get("Payload") or {}
            if not isinstance(raw, Mapping):
                raise DriverError(f"a failure CallbackAction needs a mapping Payload, got {raw!r}")
            self.backend.callback_failure(queued.callback_id, {k: raw[k] for k in _FAILURE_KEYS if k in raw})
        elif operation == "heartbeat":
            self.backend.callback_heartbeat(queued.callback_id)
        else:
            raise DriverError(f"unknown CallbackAction Operation {operation!r}")
