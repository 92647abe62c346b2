"""Raising the suspension signals with a resume time (delay or timestamp).

Imports only `perdure.sdk.clock`, `perdure.sdk.errors` and the standard library.
"""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

from ..clock import Clock
from ..errors import SuspendExecution, TimedSuspendExecution


def suspend_for(message: str, delay_seconds: int | None, clock: Clock) -> NoReturn:
    """Suspend for `delay_seconds` (None: until the service re-invokes; negative: now)."""
    if delay_seconds is None:
        raise SuspendExecution(message)
    raise TimedSuspendExecution(message, clock.time() + max(0, delay_seconds))


def suspend_until(message: str, timestamp: datetime | None, clock: Clock) -> NoReturn:
    """Suspend until `timestamp` (None: until the service re-invokes; past: now)."""
    if timestamp is None:
        raise SuspendExecution(message)
    raise TimedSuspendExecution(message, max(clock.time(), timestamp.timestamp()))
