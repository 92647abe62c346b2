"""Configuration values of the durable operations (official SDK 3.0 names and defaults).

Owns `StepSemantics`, `StepConfig`, `ChildConfig`,
`CallbackConfig`, `WaitForCallbackConfig` and `InvokeConfig` (and re-exports `Duration`,
`JitterStrategy` and `exponential_delay` from `perdure.sdk.timing`). The batch configuration
(`CompletionConfig`, `ParallelConfig`, `MapConfig`, `NestingType`, ...) lives in
`perdure.sdk.completion` / `perdure.sdk.batch`. Imports only `perdure.sdk.errors`,
`perdure.sdk.serdes` (types), `perdure.wire.limits` and the standard library.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import field
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from perdure.wire.fast_init import value_type
from perdure.wire.limits import MAX_SUB_TYPE_LENGTH

from .errors import ValidationError
from .timing import Duration as Duration
from .timing import JitterStrategy as JitterStrategy
from .timing import exponential_delay as exponential_delay

if TYPE_CHECKING:
    from .retries import RetryDecision
    from .serdes import SerDes

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")

SummaryGenerator = Callable[[Any], str]
"""Builds the small payload recorded for a child-context result too large to checkpoint."""


class StepSemantics(Enum):
    """How often a step body may run per retry attempt."""

    AT_MOST_ONCE_PER_RETRY = "AT_MOST_ONCE_PER_RETRY"
    """START is persisted before the body runs; an interrupted attempt is not re-run."""
    AT_LEAST_ONCE_PER_RETRY = "AT_LEAST_ONCE_PER_RETRY"
    """START is sent in the background; an interrupted attempt runs again."""


_SUB_TYPE_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_")


def validate_sub_type(sub_type: str | None) -> None:
    """Reject a custom sub-type the service would refuse (None and "" mean the default).

    Raises:
        ValidationError: unless 1-32 characters of ``[A-Za-z0-9_-]``.
    """
    if not sub_type:
        return
    if len(sub_type) > MAX_SUB_TYPE_LENGTH or not set(sub_type) <= _SUB_TYPE_CHARACTERS:
        raise ValidationError(
            f"sub_type must be 1 to {MAX_SUB_TYPE_LENGTH} characters from A-Z, a-z, 0-9, "
            f"hyphen, and underscore, got: {sub_type!r}"
        )


@value_type(slots=False)
class StepConfig:
    """Options of `DurableContext.step`."""

    retry_strategy: Callable[[Exception, int], RetryDecision] | None = None
    """Decides on a retry after a failed attempt; None means `RetryPresets.default()`."""
    step_semantics: StepSemantics = StepSemantics.AT_LEAST_ONCE_PER_RETRY
    """At-least-once (default) or at-most-once per retry attempt."""
    serdes: SerDes[Any] | None = None
    """Serializes the result; None means the extended-type serdes."""
    sub_type: str | None = field(default=None, kw_only=True)
    """A custom operation sub-type (1-32 of ``[A-Za-z0-9_-]``); None means ``Step``."""

    def __post_init__(self) -> None:
        validate_sub_type(self.sub_type)


@value_type(slots=False)
class ChildConfig(Generic[T]):
    """Options of `DurableContext.run_in_child_context`."""

    serdes: SerDes[Any] | None = None
    """Serializes the result; None means the extended-type serdes."""
    sub_type: str | None = None
    """A custom operation sub-type; None means ``RunInChildContext``."""
    summary_generator: SummaryGenerator | None = None
    """For a result over 256 KiB: builds the recorded summary (default ``""``)."""
    is_virtual: bool = False
    """Run without a CONTEXT operation of its own (used by flat map/parallel)."""

    def __post_init__(self) -> None:
        validate_sub_type(self.sub_type)


@value_type(slots=False)
class CallbackConfig:
    """Options of `DurableContext.create_callback`."""

    timeout: Duration = field(default_factory=Duration)
    """How long to wait for the callback; zero means no timeout."""
    heartbeat_timeout: Duration = field(default_factory=Duration)
    """Longest gap between heartbeats; zero means none required."""
    serdes: SerDes[Any] | None = None
    """Deserializes the callback result; None returns the raw string."""
    sub_type: str | None = field(default=None, kw_only=True)
    """A custom operation sub-type; None means ``Callback``."""

    def __post_init__(self) -> None:
        validate_sub_type(self.sub_type)

    @property
    def timeout_seconds(self) -> int:
        """The timeout in seconds (0 = none)."""
        return self.timeout.to_seconds()

    @property
    def heartbeat_timeout_seconds(self) -> int:
        """The heartbeat timeout in seconds (0 = none)."""
        return self.heartbeat_timeout.to_seconds()


@value_type(slots=False)
class WaitForCallbackConfig(CallbackConfig):
    """Options of `DurableContext.wait_for_callback`."""

    retry_strategy: Callable[[Exception, int], RetryDecision] | None = None
    """Retry strategy of the submitter step."""


@value_type(slots=False)
class InvokeConfig(Generic[P, R]):
    """Options of `DurableContext.invoke`."""

    serdes_payload: SerDes[P] | None = None
    """Serializes the payload; None means plain JSON."""
    serdes_result: SerDes[R] | None = None
    """Deserializes the result; None means plain JSON."""
    tenant_id: str | None = None
    """The tenant to invoke the target function for."""
