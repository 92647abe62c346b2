"""perdure.sdk.retries: strategies, presets and filters."""

from __future__ import annotations

import re

import pytest

from perdure.sdk.config import Duration, JitterStrategy
from perdure.sdk.retries import (
    LinearRetryStrategyConfig,
    RetryDecision,
    RetryPresets,
    RetryStrategy,
    RetryStrategyConfig,
    create_linear_retry_strategy,
    create_retry_strategy,
)


def test_decisions() -> None:
    assert RetryDecision.retry(Duration(3)).delay_seconds == 3
    assert not RetryDecision.no_retry().should_retry


def test_defaults() -> None:
    config = RetryStrategyConfig()
    assert (config.max_attempts, config.initial_delay_seconds, config.max_delay_seconds) == (3, 5, 300)
    assert config.backoff_rate == 2.0 and config.jitter_strategy is JitterStrategy.FULL


def test_exponential_without_jitter() -> None:
    strategy = create_retry_strategy(
        RetryStrategyConfig(max_attempts=5, max_delay=Duration(30), jitter_strategy=JitterStrategy.NONE)
    )
    assert [strategy(ValueError(), n).delay_seconds for n in (1, 2, 3, 4)] == [5, 10, 20, 30]
    assert not strategy(ValueError(), 5).should_retry


def test_filters() -> None:
    by_text = create_retry_strategy(RetryStrategyConfig(retryable_errors=["timeout", re.compile(r"^5\d\d")]))
    assert by_text(ValueError("read timeout"), 1).should_retry
    assert by_text(ValueError("503 busy"), 1).should_retry
    assert not by_text(ValueError("bad input"), 1).should_retry
    by_type = create_retry_strategy(RetryStrategyConfig(retryable_error_types=[KeyError]))
    assert by_type(KeyError("k"), 1).should_retry
    assert not by_type(ValueError("timeout"), 1).should_retry


@pytest.mark.parametrize(
    ("preset", "attempts"),
    [
        (RetryPresets.none(), 1),
        (RetryPresets.default(), 6),
        (RetryPresets.transient(), 3),
        (RetryPresets.resource_availability(), 5),
        (RetryPresets.critical(), 10),
        (RetryPresets.linear(), 6),
        (RetryPresets.fixed(), 5),
    ],
)
def test_preset_attempts(preset: RetryStrategy, attempts: int) -> None:
    assert callable(preset)
    assert all(preset(ValueError(), n).should_retry for n in range(1, attempts))
    assert not preset(ValueError(), attempts).should_retry


def test_default_preset_caps_at_60s_and_fixed_interval() -> None:
    default = RetryPresets.default()
    assert all(1 <= default(ValueError(), n).delay_seconds <= 60 for n in range(1, 6))
    fixed = RetryPresets.fixed(Duration(7))
    assert [fixed(ValueError(), n).delay_seconds for n in (1, 2, 3)] == [7, 7, 7]
    critical = RetryPresets.critical()
    assert [critical(ValueError(), n).delay_seconds for n in (1, 2, 3)] == [1, 2, 3]


def test_linear() -> None:
    strategy = create_linear_retry_strategy(
        LinearRetryStrategyConfig(increment=Duration(2), jitter_strategy=JitterStrategy.NONE)
    )
    assert [strategy(ValueError(), n).delay_seconds for n in (1, 2, 3)] == [1, 3, 5]
