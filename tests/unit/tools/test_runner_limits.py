"""The test runner's constructors take the engine's limits; exceeding one names it."""

from __future__ import annotations

from typing import Any

from perdure import DurableContext, durable_execution
from perdure.testing import DurableTestRunner


@durable_execution
def five_steps(event: Any, context: DurableContext) -> int:
    return sum(context.step(lambda _, i=i: i, name=f"s{i}") for i in range(5))


def test_max_operations_is_a_constructor_option_and_its_error_names_it() -> None:
    with DurableTestRunner.start_time_skipping(max_operations=3) as runner:
        result = runner.run(five_steps, {})
    assert result.status == "FAILED"
    assert result.error is not None and "max_operations" in (result.error.error_message or "")


def test_execution_timeout_is_a_constructor_option() -> None:
    with DurableTestRunner.start_time_skipping(execution_timeout=60) as runner:
        arn = runner.start(five_steps, {})
        assert runner.engine.history(arn)[0].details.execution_timeout == 60
