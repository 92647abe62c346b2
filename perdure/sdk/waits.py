"""Wait-for-condition configuration and polling strategies.

Owns `WaitForConditionDecision`, `WaitForConditionConfig`, `WaitStrategyConfig` and
`create_wait_strategy`. The operation itself is `perdure.sdk.operations.wait_for_condition`.
Imports only `perdure.sdk.config`, `perdure.sdk.errors`, `perdure.sdk.serdes` (types) and
the standard library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from perdure.wire.fast_init import value_type

from .errors import WaitForConditionError
from .timing import Duration, JitterStrategy, exponential_delay

if TYPE_CHECKING:
    from .serdes import SerDes

T = TypeVar("T")
Numeric = int | float


@value_type(slots=False)
class WaitForConditionDecision:
    """Whether to poll again, and after how long."""

    should_continue: bool
    delay: Duration

    @property
    def delay_seconds(self) -> int:
        """The delay in seconds."""
        return self.delay.to_seconds()

    @classmethod
    def continue_waiting(cls, delay: Duration) -> WaitForConditionDecision:
        """Poll again after `delay`."""
        return cls(should_continue=True, delay=delay)

    @classmethod
    def stop_polling(cls) -> WaitForConditionDecision:
        """Stop: the condition is met."""
        return cls(should_continue=False, delay=Duration())


@dataclass
class WaitStrategyConfig(Generic[T]):
    """Backoff polling until `should_continue_polling(state)` is false."""

    should_continue_polling: Callable[[T], bool]
    max_attempts: int = 60
    initial_delay: Duration = field(default_factory=lambda: Duration.from_seconds(5))
    max_delay: Duration = field(default_factory=lambda: Duration.from_minutes(5))
    backoff_rate: Numeric = 1.5
    jitter_strategy: JitterStrategy = JitterStrategy.FULL

    @property
    def initial_delay_seconds(self) -> int:
        return self.initial_delay.to_seconds()

    @property
    def max_delay_seconds(self) -> int:
        return self.max_delay.to_seconds()


def create_wait_strategy(config: WaitStrategyConfig[T]) -> Callable[[T, int], WaitForConditionDecision]:
    """A polling strategy with exponential backoff.

    The returned strategy stops as soon as the condition is met (even on the last
    attempt).

    Raises:
        WaitForConditionError: (from the strategy) when ``max_attempts`` polls did not
            meet the condition.
    """

    def strategy(state: T, attempts_made: int) -> WaitForConditionDecision:
        if not config.should_continue_polling(state):
            return WaitForConditionDecision.stop_polling()
        if attempts_made >= config.max_attempts:
            raise WaitForConditionError(
                f"wait_for_condition exhausted {config.max_attempts} attempts before the condition was met"
            )
        return WaitForConditionDecision.continue_waiting(
            exponential_delay(
                config.initial_delay,
                config.max_delay,
                config.backoff_rate,
                config.jitter_strategy,
                attempts_made,
            )
        )

    return strategy


@value_type(slots=False)
class WaitForConditionConfig(Generic[T]):
    """Options of `DurableContext.wait_for_condition`."""

    wait_strategy: Callable[[T, int], WaitForConditionDecision]
    """Called after each poll with (state, attempts_made)."""
    initial_state: T
    """The state of the first poll (round-tripped through the serdes first)."""
    serdes: SerDes[Any] | None = None
    """Serializes the polled state; None means the extended-type serdes."""
