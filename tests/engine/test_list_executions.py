"""`EngineService.list_executions`, the console's list: every function or one, a name
filter, statuses, newest first, keyset pages; the SQLite and in-memory stores agree."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from perdure.engine import Engine
from perdure.engine.store import ExecutionQuery
from perdure.wire.types import ExecutionStatus, StopDurableExecutionRequest


def _noop(event: object, context: object) -> dict[str, object]:
    return {"Status": "PENDING"}


@pytest.fixture(params=["sqlite", "memory"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    opened = Engine.open(tmp_path / "list.db") if request.param == "sqlite" else Engine.open(memory=True)
    for name in ("billing", "shipping"):
        opened.register_function(name, _noop)  # started, never invoked: the loop is not running
    try:
        yield opened
    finally:
        opened.close()


def names(engine: Engine, **filters: object) -> list[str]:
    query = ExecutionQuery(**{"function_name": None, "reverse": True, **filters})  # type: ignore[arg-type]
    return [r.name for r in engine.service.list_executions(query)]


def test_across_functions_newest_first_filtered_and_paged(engine: Engine) -> None:
    arns = [
        engine.start_execution("billing" if n % 2 else "shipping", "{}", f"run-{n}-{'b' if n % 2 else 's'}")
        for n in range(6)
    ]
    engine.service.stop_durable_execution(StopDurableExecutionRequest(durable_execution_arn=arns[2]))
    assert names(engine) == ["run-5-b", "run-4-s", "run-3-b", "run-2-s", "run-1-b", "run-0-s"]
    assert names(engine, function_name="billing") == ["run-5-b", "run-3-b", "run-1-b"]
    assert names(engine, name_contains="-s") == ["run-4-s", "run-2-s", "run-0-s"]
    assert names(engine, name_contains="4-S") == []  # case-sensitive
    assert names(engine, statuses=(ExecutionStatus.STOPPED,)) == ["run-2-s"]
    assert names(engine, statuses=(ExecutionStatus.RUNNING,), function_name="shipping") == [
        "run-4-s",
        "run-0-s",
    ]
    page = engine.service.list_executions(ExecutionQuery(function_name=None, reverse=True, limit=4))
    rest = engine.service.list_executions(
        ExecutionQuery(function_name=None, reverse=True, after_key=page[-1].key, limit=4)
    )
    assert [r.name for r in page + rest] == names(engine)
    assert names(engine, reverse=False)[0] == "run-0-s"
