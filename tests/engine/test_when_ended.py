"""`Engine.when_ended`: a future per waiting caller, resolved when the execution stops running."""

from __future__ import annotations

from typing import Any

from perdure.engine import Engine
from perdure.wire.types import StopDurableExecutionRequest


def never_runs(event: Any, context: Any) -> Any:
    raise AssertionError("not invoked: nothing drives this engine")


def test_resolves_when_the_execution_ends_and_close_cancels_the_rest():
    engine = Engine.in_memory()
    engine.register_function("f", never_runs)
    first = engine.start_execution("f", "{}", execution_name="first")
    second = engine.start_execution("f", "{}", execution_name="second")
    ended, waiting = engine.when_ended(first), engine.when_ended(second)
    assert not ended.done() and not waiting.done()
    engine.service.stop_durable_execution(StopDurableExecutionRequest(first))
    assert ended.result(timeout=30) is None
    assert not waiting.done()
    assert engine.when_ended("arn:unknown").result(timeout=30) is None  # nothing to wait for
    assert engine.when_ended(first).result(timeout=30) is None  # already ended
    engine.close()
    assert waiting.cancelled() and engine.when_ended(second).cancelled()
