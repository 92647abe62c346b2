"""perdure.sdk.config: Duration and option validation."""

from __future__ import annotations

import pytest

from perdure.sdk.config import (
    CallbackConfig,
    ChildConfig,
    Duration,
    JitterStrategy,
    StepConfig,
    StepSemantics,
    WaitForCallbackConfig,
)
from perdure.sdk.errors import ValidationError


def test_duration_constructors_truncate() -> None:
    assert Duration.from_seconds(1.9).seconds == 1
    assert Duration.from_minutes(1.5).to_seconds() == 90
    assert Duration.from_hours(1).seconds == 3600
    assert Duration.from_days(0.5).seconds == 43200
    assert Duration().seconds == 0


def test_negative_duration_rejected() -> None:
    with pytest.raises(ValidationError):
        Duration(-1)


def test_step_config_defaults() -> None:
    config = StepConfig()
    assert config.retry_strategy is None and config.serdes is None
    assert config.step_semantics is StepSemantics.AT_LEAST_ONCE_PER_RETRY


@pytest.mark.parametrize("bad", ["has space", "x" * 33, "é"])
def test_sub_type_validated(bad: str) -> None:
    with pytest.raises(ValidationError, match="sub_type"):
        StepConfig(sub_type=bad)
    with pytest.raises(ValidationError):
        ChildConfig(sub_type=bad)


def test_sub_type_accepts_valid_and_empty() -> None:
    assert StepConfig(sub_type="My_Step-1").sub_type == "My_Step-1"
    assert ChildConfig(sub_type="").sub_type == ""


def test_callback_configs() -> None:
    config = WaitForCallbackConfig(timeout=Duration(30))
    assert isinstance(config, CallbackConfig)
    assert config.timeout_seconds == 30 and config.heartbeat_timeout_seconds == 0


def test_jitter_finalize_is_at_least_one_and_ceiled() -> None:
    assert JitterStrategy.NONE.finalize_delay(2.1) == 3
    assert JitterStrategy.NONE.finalize_delay(0) == 1
    for _ in range(50):
        assert 1 <= JitterStrategy.FULL.finalize_delay(10) <= 10
        assert 5 <= JitterStrategy.HALF.finalize_delay(10) <= 10
