"""`with_retry`: re-run a whole block of durable operations until it succeeds.

Owns `WithRetryConfig` and `with_retry` (the sync face's helper over a child context and
durable waits). Apart from `perdure.sdk.retries` so the retry strategies, which the
configuration refers to, do not import the context. Imports only `perdure.sdk` modules
and the standard library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from perdure.wire.fast_init import value_type

from .config import ChildConfig
from .context import DurableContext
from .retries import RetryStrategy, create_retry_strategy

T = TypeVar("T")


@value_type(slots=False)
class WithRetryConfig(Generic[T]):
    """Options of `with_retry`."""

    retry_strategy: RetryStrategy | None = None
    """Decides on another attempt; None means `create_retry_strategy()` (3 attempts)."""
    wrap_with_run_in_child_context: bool = True
    """Run the loop in its own child context (the final failure is a `ChildContextError`)."""
    child_context_config: ChildConfig[T] | None = None
    """Options of that child context."""


def with_retry(
    context: DurableContext,
    func: Callable[[DurableContext, int], T],
    config: WithRetryConfig[T],
    name: str | None = None,
) -> T:
    """Re-run a whole block of durable operations until it succeeds or the strategy gives up.

    Between attempts the block waits durably (``ctx.wait``, named ``"{name}-backoff-{n}"``).

    Args:
        context: the context to run in.
        func: the block; receives the context and the 1-based attempt.
        config: the retry strategy and wrapping options.
        name: the child context's name and the backoff waits' prefix.

    Returns:
        The block's result.
    """
    strategy = config.retry_strategy or create_retry_strategy()

    def run_loop(ctx: DurableContext) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return func(ctx, attempt)
            except Exception as error:
                decision = strategy(error, attempt)
                if not decision.should_retry:
                    raise
                ctx.wait(decision.delay, name=f"{name}-backoff-{attempt}" if name else None)

    if config.wrap_with_run_in_child_context:
        return context.run_in_child_context(run_loop, name=name, config=config.child_context_config)
    return run_loop(context)


__all__ = ["WithRetryConfig", "with_retry"]
