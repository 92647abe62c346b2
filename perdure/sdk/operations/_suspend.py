"""Raising the suspension signals with a resume time (delay or timestamp).

Imports only `perdure.sdk.errors` and the standard library.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import NoReturn

from ..errors import SuspendExecution, TimedSuspendExecution


def suspend_for(message: str, delay_seconds: int | None) -> NoReturn:
    """Suspend for `delay_seconds` (None: until the service re-invokes; negative: now)."""
    if delay_seconds is None:
        raise SuspendExecution(message)
    raise TimedSuspendExecution(message, time.time() + max(0, delay_seconds))


def suspend_until(message: str, timestamp: datetime | None) -> NoReturn:
    """Suspend until `timestamp` (None: until the service re-invokes; past: now)."""
    if timestamp is None:
        raise SuspendExecution(message)
    raise TimedSuspendExecution(message, max(time.time(), timestamp.timestamp()))
