"""The SDK's clock: every time the SDK reads goes through one `Clock`.

Owns the `Clock` Protocol (wall time in epoch seconds, and a monotonic reading for
intervals) and `SYSTEM_CLOCK`. An invocation's clock is fixed when its replay state is
built (`ExecutionState(..., clock=...)`); a tool or a test gives its own through
`InvocationInputWithClient(clock=...)`. Imports only the standard library.
"""

from __future__ import annotations

import time as _time
from typing import Protocol


class Clock(Protocol):
    """Where the SDK reads the time."""

    def time(self) -> float:
        """Now, in epoch seconds (when a retry or a timer is due)."""
        ...

    def monotonic(self) -> float:
        """A monotonic reading in seconds (how long the checkpoint writer lingers)."""
        ...


class SystemClock:
    """The real clock (the C functions themselves: a read is no Python call)."""

    time = staticmethod(_time.time)
    monotonic = staticmethod(_time.monotonic)


SYSTEM_CLOCK: Clock = SystemClock()


__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock"]
