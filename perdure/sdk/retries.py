"""Retry strategies for steps: decisions, configurable backoff and the presets.

A retry strategy is any ``Callable[[Exception, int], RetryDecision]`` that receives the
error and the number of attempts made so far (the first try counts). Owns
`RetryDecision`, `RetryStrategyConfig`, `LinearRetryStrategyConfig`,
`create_retry_strategy`, `create_linear_retry_strategy`, `RetryPresets` and `with_retry`
(a whole block retried with durable backoff waits). Imports only `perdure.sdk.config` and
the standard library (the context type only for annotations).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from .timing import Duration, JitterStrategy, exponential_delay

T = TypeVar("T")

__all__ = [
    "JitterStrategy",
    "LinearRetryStrategyConfig",
    "RetryDecision",
    "RetryPresets",
    "RetryStrategy",
    "RetryStrategyConfig",
    "create_linear_retry_strategy",
    "create_retry_strategy",
]

Numeric = int | float


@dataclass
class RetryDecision:
    """Whether to retry, and after how long."""

    should_retry: bool
    delay: Duration

    @property
    def delay_seconds(self) -> int:
        """The delay in seconds."""
        return self.delay.to_seconds()

    @classmethod
    def retry(cls, delay: Duration) -> RetryDecision:
        """Retry after `delay`."""
        return cls(should_retry=True, delay=delay)

    @classmethod
    def no_retry(cls) -> RetryDecision:
        """Do not retry."""
        return cls(should_retry=False, delay=Duration())


RetryStrategy = Callable[[Exception, int], RetryDecision]


@dataclass
class RetryStrategyConfig:
    """Exponential backoff: ``min(initial * rate^(n-1), max)``, then jitter."""

    max_attempts: int = 3
    """Attempts in total, the first try included."""
    initial_delay: Duration = field(default_factory=lambda: Duration.from_seconds(5))
    max_delay: Duration = field(default_factory=lambda: Duration.from_minutes(5))
    backoff_rate: Numeric = 2.0
    jitter_strategy: JitterStrategy = JitterStrategy.FULL
    retryable_errors: list[str | re.Pattern[str]] | None = None
    """Substrings (or compiled patterns, searched) of the error message that may be retried."""
    retryable_error_types: list[type[Exception]] | None = None
    """Exception types that may be retried. With neither filter set, every error may."""

    @property
    def initial_delay_seconds(self) -> int:
        return self.initial_delay.to_seconds()

    @property
    def max_delay_seconds(self) -> int:
        return self.max_delay.to_seconds()


@dataclass
class LinearRetryStrategyConfig:
    """Linear backoff: ``min(initial + increment * (n-1), max)``, then jitter."""

    max_attempts: int = 6
    initial_delay: Duration = field(default_factory=lambda: Duration.from_seconds(1))
    increment: Duration = field(default_factory=lambda: Duration.from_seconds(1))
    max_delay: Duration = field(default_factory=lambda: Duration.from_minutes(5))
    jitter_strategy: JitterStrategy = JitterStrategy.FULL
    retryable_errors: list[str | re.Pattern[str]] | None = None
    retryable_error_types: list[type[Exception]] | None = None

    @property
    def initial_delay_seconds(self) -> int:
        return self.initial_delay.to_seconds()

    @property
    def increment_seconds(self) -> int:
        return self.increment.to_seconds()

    @property
    def max_delay_seconds(self) -> int:
        return self.max_delay.to_seconds()


def _error_filter(
    retryable_errors: list[str | re.Pattern[str]] | None,
    retryable_error_types: list[type[Exception]] | None,
) -> Callable[[Exception], bool]:
    if retryable_errors is None and retryable_error_types is None:
        return lambda _error: True
    patterns = list(retryable_errors or ())
    types = tuple(retryable_error_types or ())

    def matches(error: Exception) -> bool:
        if types and isinstance(error, types):
            return True
        text = str(error)
        return any(
            (p.search(text) is not None) if isinstance(p, re.Pattern) else (p in text) for p in patterns
        )

    return matches


def create_retry_strategy(config: RetryStrategyConfig | None = None) -> RetryStrategy:
    """A retry strategy with exponential backoff.

    Args:
        config: the backoff and filters; None means `RetryStrategyConfig()`.

    Returns:
        A strategy that stops at ``max_attempts`` or on an error the filters exclude.
    """
    cfg = config if config is not None else RetryStrategyConfig()
    is_retryable = _error_filter(cfg.retryable_errors, cfg.retryable_error_types)

    def strategy(error: Exception, attempts_made: int) -> RetryDecision:
        if attempts_made >= cfg.max_attempts or not is_retryable(error):
            return RetryDecision.no_retry()
        return RetryDecision.retry(
            exponential_delay(
                cfg.initial_delay, cfg.max_delay, cfg.backoff_rate, cfg.jitter_strategy, attempts_made
            )
        )

    return strategy


def create_linear_retry_strategy(config: LinearRetryStrategyConfig | None = None) -> RetryStrategy:
    """A retry strategy with linear backoff.

    Args:
        config: the backoff and filters; None means `LinearRetryStrategyConfig()`.
    """
    cfg = config if config is not None else LinearRetryStrategyConfig()
    is_retryable = _error_filter(cfg.retryable_errors, cfg.retryable_error_types)

    def strategy(error: Exception, attempts_made: int) -> RetryDecision:
        if attempts_made >= cfg.max_attempts or not is_retryable(error):
            return RetryDecision.no_retry()
        base = min(
            cfg.initial_delay_seconds + cfg.increment_seconds * (attempts_made - 1), cfg.max_delay_seconds
        )
        return RetryDecision.retry(Duration(seconds=cfg.jitter_strategy.finalize_delay(base)))

    return strategy


class RetryPresets:
    """Ready-made retry strategies."""

    @classmethod
    def none(cls) -> RetryStrategy:
        """One attempt, no retry."""
        return create_retry_strategy(RetryStrategyConfig(max_attempts=1))

    @classmethod
    def default(cls) -> RetryStrategy:
        """The step default: 6 attempts, 5 s doubling to at most 60 s, full jitter."""
        return create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=6,
                initial_delay=Duration.from_seconds(5),
                max_delay=Duration.from_minutes(1),
                backoff_rate=2,
                jitter_strategy=JitterStrategy.FULL,
            )
        )

    @classmethod
    def transient(cls) -> RetryStrategy:
        """3 attempts, 5 s doubling, half jitter."""
        return create_retry_strategy(
            RetryStrategyConfig(max_attempts=3, backoff_rate=2, jitter_strategy=JitterStrategy.HALF)
        )

    @classmethod
    def resource_availability(cls) -> RetryStrategy:
        """5 attempts, 5 s doubling to at most 5 min, full jitter."""
        return create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=5,
                initial_delay=Duration.from_seconds(5),
                max_delay=Duration.from_minutes(5),
                backoff_rate=2,
            )
        )

    @classmethod
    def critical(cls) -> RetryStrategy:
        """10 attempts, 1 s growing by 1.5x to at most 60 s, no jitter."""
        return create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=10,
                initial_delay=Duration.from_seconds(1),
                max_delay=Duration.from_minutes(1),
                backoff_rate=1.5,
                jitter_strategy=JitterStrategy.NONE,
            )
        )

    @classmethod
    def linear(cls) -> RetryStrategy:
        """6 attempts, 1 s plus 1 s per attempt, no jitter."""
        return create_linear_retry_strategy(
            LinearRetryStrategyConfig(
                max_attempts=6,
                initial_delay=Duration.from_seconds(1),
                increment=Duration.from_seconds(1),
                jitter_strategy=JitterStrategy.NONE,
            )
        )

    @classmethod
    def fixed(cls, interval: Duration | None = None) -> RetryStrategy:
        """5 attempts, a fixed interval (default 5 s), no jitter."""
        delay = interval if interval is not None else Duration.from_seconds(5)
        return create_retry_strategy(
            RetryStrategyConfig(
                max_attempts=5,
                initial_delay=delay,
                max_delay=delay,
                backoff_rate=1,
                jitter_strategy=JitterStrategy.NONE,
            )
        )
