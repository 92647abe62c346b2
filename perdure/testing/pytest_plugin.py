"""perdure's pytest plugin: a time-skipping `DurableTestRunner` per test.

Installed with perdure (entry point `pytest11`), so any test may ask for it:

    def test_order(perdure_runner):
        result = perdure_runner.run(handler, {"order_id": "o-1"})
        assert result.succeeded

The runner runs on a memory store and a virtual clock, and is closed after the test. Async
tests use the same fixture and await its twins (`await perdure_runner.arun(handler, ...)`):
the plugin runs an `async def` test that asks for `perdure_runner` with `asyncio.run`, so
no async plugin is needed (a test marked for anyio or pytest-asyncio is left to it).
Imports the test runner only, when a test asks for the fixture.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from perdure.testing.runner import DurableTestRunner


@pytest.fixture
def perdure_runner() -> Iterator[DurableTestRunner]:
    """A `DurableTestRunner.start_time_skipping()` runner, closed after the test."""
    # Imported here: pytest loads this plugin in every session, which should not import the
    # engine unless a test asks for a runner.
    from perdure.testing.runner import DurableTestRunner

    with DurableTestRunner.start_time_skipping() as runner:
        yield runner


_ASYNC_PLUGIN_MARKS = ("anyio", "asyncio", "trio")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an `async def` test that takes `perdure_runner` in a fresh event loop."""
    if (
        "perdure_runner" not in pyfuncitem.fixturenames
        or not inspect.iscoroutinefunction(pyfuncitem.obj)
        or any(pyfuncitem.get_closest_marker(mark) for mark in _ASYNC_PLUGIN_MARKS)
    ):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**arguments))
    return True
