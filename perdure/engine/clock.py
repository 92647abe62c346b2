"""The engine's one source of time: the `Clock` Protocol, `SystemClock`, `DatabaseClock` and
`VirtualClock`.

Every time read in the engine goes through a clock, so tests and `--skip-time` runs can
replace real time with a virtual clock that jumps to the next due timer when nothing is
runnable. Imports only the standard library.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """What the engine needs from time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def sleep_until(self, deadline: datetime | None, wakeup: threading.Event) -> None:
        """Return at `deadline` (None: never) or as soon as `wakeup` is set, whichever is first.

        A virtual clock does not sleep: it jumps to `deadline`.
        """
        ...


class SystemClock:
    """Real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, deadline: datetime | None, wakeup: threading.Event) -> None:
        if deadline is None:
            wakeup.wait()
            return
        remaining = (deadline - self.now()).total_seconds()
        if remaining > 0:
            wakeup.wait(remaining)


class DatabaseClock(SystemClock):
    """Real time as a shared database tells it: the system clock corrected by the offset last
    measured against the database's clock (`set_offset`). Workers on one database then agree
    on when a timer is due and stamp history on one time line, the one their leases use."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def set_offset(self, offset: timedelta) -> None:
        """The database's clock less this machine's (measured at the middle of a round trip)."""
        self._offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


class VirtualClock:
    """Manual time: moves only when told (`advance`, `advance_to`) or when the engine is idle.

    Args:
        start: the initial time (default: the real time at creation, so timestamps look sane).
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start if start is not None else datetime.now(UTC)
        if self._now.tzinfo is None:
            raise ValueError("VirtualClock start must be timezone-aware")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance_to(self, when: datetime) -> None:
        """Move time forward to `when` (never backwards)."""
        with self._lock:
            if when > self._now:
                self._now = when

    def advance(self, delta: timedelta | float) -> None:
        """Move time forward by `delta` (a timedelta or seconds)."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._now += step

    def sleep_until(self, deadline: datetime | None, wakeup: threading.Event) -> None:
        if deadline is None:
            wakeup.wait()
            return
        self.advance_to(deadline)

    def follow_real_time(self, deadline: datetime | None, wakeup: threading.Event, seconds: float) -> None:
        """Wait up to `seconds` of real time (less if `wakeup` is set), then move forward by the
        real time that passed, never past `deadline` (None: no limit).

        How a skip-time run lets the outside world answer a callback: while one is open, time
        follows the wall clock instead of jumping to the callback's timeout.
        """
        started = time.monotonic()
        wakeup.wait(seconds)
        target = self.now() + timedelta(seconds=time.monotonic() - started)
        self.advance_to(target if deadline is None else min(deadline, target))
