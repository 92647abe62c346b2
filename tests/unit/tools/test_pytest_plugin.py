"""perdure's pytest plugin: `perdure_runner` in sync and plain `async def` tests, with no async
plugin installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = """
import asyncio

from perdure import DurableContext, Duration, durable_execution


@durable_execution
def greet(event, context: DurableContext):
    context.wait(Duration.from_seconds(60), name="pause")
    return context.step(lambda _: "hello " + event["name"], name="greet")


def test_sync(perdure_runner):
    assert perdure_runner.run(greet, {"name": "ada"}).result == "hello ada"


async def test_async(perdure_runner):
    await asyncio.sleep(0)
    result = await perdure_runner.arun(greet, {"name": "bo"})
    assert result.result == "hello bo" and result.invocations == 2


async def test_async_failure_is_reported(perdure_runner):
    result = await perdure_runner.arun(greet, {"name": "cy"})
    assert result.result == "not this"
"""


def test_async_tests_run_with_the_fixture_alone(tmp_path: Path) -> None:
    (tmp_path / "test_flows.py").write_text(TESTS, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:anyio", "-p", "no:cacheprovider", "test_flows.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 failed, 2 passed" in done.stdout, done.stdout + done.stderr
    assert "FAILED test_flows.py::test_async_failure_is_reported" in done.stdout
    assert "'hello cy' == 'not this'" in done.stdout
