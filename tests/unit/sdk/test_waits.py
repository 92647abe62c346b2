"""perdure.sdk.waits: the wait-for-condition strategy."""

from __future__ import annotations

import pytest

from perdure.sdk.config import Duration, JitterStrategy
from perdure.sdk.errors import WaitForConditionError
from perdure.sdk.waits import (
    WaitForConditionConfig,
    WaitForConditionDecision,
    WaitStrategyConfig,
    create_wait_strategy,
)


def test_strategy_backs_off_stops_and_exhausts() -> None:
    strategy = create_wait_strategy(
        WaitStrategyConfig[int](
            should_continue_polling=lambda s: s < 10, max_attempts=3, jitter_strategy=JitterStrategy.NONE
        )
    )
    assert strategy(1, 1) == WaitForConditionDecision.continue_waiting(Duration(5))
    assert strategy(1, 2).delay_seconds == 8  # ceil(7.5)
    assert strategy(10, 3) == WaitForConditionDecision.stop_polling()
    with pytest.raises(WaitForConditionError, match="3 attempts"):
        strategy(1, 3)


def test_config_holds_values() -> None:
    config = WaitForConditionConfig(
        wait_strategy=lambda s, n: WaitForConditionDecision.stop_polling(), initial_state=0
    )
    assert config.initial_state == 0 and config.serdes is None
