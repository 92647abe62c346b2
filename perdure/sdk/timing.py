"""Lengths of time and the backoff arithmetic of retries and polls.

Owns `Duration` (which also takes a `datetime.timedelta`: `Duration.of`), `JitterStrategy` and `exponential_delay` (re-exported by
`perdure.sdk.config`). A module of its own so `config`, `retries` and `waits` all build
on it without importing each other. Imports only `perdure.sdk.errors` and the stdlib.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from .errors import ValidationError


@dataclass(frozen=True)
class Duration:
    """A length of time in whole seconds.

    Attributes:
        seconds: the total number of seconds (not negative).
    """

    seconds: int = 0

    def __post_init__(self) -> None:
        if self.seconds < 0:
            raise ValidationError(f"Duration seconds must not be negative, got {self.seconds}")

    def to_seconds(self) -> int:
        """The total number of seconds."""
        return self.seconds

    @classmethod
    def of(cls, value: Duration | timedelta) -> Duration:
        """`value` as a `Duration`: a `datetime.timedelta` is truncated to whole seconds.

        Raises:
            TypeError: `value` is neither.
            ValidationError: a negative timedelta.
        """
        if isinstance(value, Duration):
            return value
        if isinstance(value, timedelta):
            return cls(seconds=math.floor(value.total_seconds()))
        raise TypeError(f"expected a Duration or a datetime.timedelta, got {type(value).__name__}")

    @classmethod
    def from_seconds(cls, value: float) -> Duration:
        """A duration of `value` seconds (truncated to whole seconds)."""
        return cls(seconds=int(value))

    @classmethod
    def from_minutes(cls, value: float) -> Duration:
        """A duration of `value` minutes (truncated to whole seconds)."""
        return cls(seconds=int(value * 60))

    @classmethod
    def from_hours(cls, value: float) -> Duration:
        """A duration of `value` hours (truncated to whole seconds)."""
        return cls(seconds=int(value * 3600))

    @classmethod
    def from_days(cls, value: float) -> Duration:
        """A duration of `value` days (truncated to whole seconds)."""
        return cls(seconds=int(value * 86400))


class JitterStrategy(StrEnum):
    """Random spread applied to a retry or polling delay.

    NONE keeps the delay; FULL picks uniformly in [0, d]; HALF in [d/2, d].
    """

    NONE = "NONE"
    FULL = "FULL"
    HALF = "HALF"

    def apply_jitter(self, delay: float) -> float:
        """The delay after jitter (not rounded)."""
        if self is JitterStrategy.NONE:
            return delay
        if self is JitterStrategy.HALF:
            return delay / 2 + random.random() * (delay / 2)
        return random.random() * delay

    def finalize_delay(self, base_delay: float) -> int:
        """Jitter, round up, and clamp to at least one second."""
        return max(1, math.ceil(self.apply_jitter(base_delay)))


def exponential_delay(
    initial: Duration, max_delay: Duration, backoff_rate: float, jitter: JitterStrategy, attempts_made: int
) -> Duration:
    """The backoff after attempt `attempts_made` (1-based) of a retry or a poll:
    ``min(initial * rate^(n-1), max)``, then jitter (at least one second)."""
    base = min(initial.to_seconds() * (backoff_rate ** (attempts_made - 1)), max_delay.to_seconds())
    return Duration(seconds=jitter.finalize_delay(base))


__all__ = ["Duration", "JitterStrategy", "exponential_delay"]
