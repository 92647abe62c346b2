"""The async face's types: `mypy --strict` infers `await context.step(f)` as `f`'s result type."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mypy import api

SNIPPET = textwrap.dedent(
    """
    import asyncio
    from typing import Any, assert_type
    from perdure import AsyncDurableContext, BatchResult, StepContext, durable_step

    @durable_step
    async def fetch(step_context: StepContext, url: str) -> dict[str, int]:
        return {}

    def sync_body(_: StepContext) -> int:
        return 1

    async def child(ctx: AsyncDurableContext) -> str:
        return "x"

    async def item(ctx: AsyncDurableContext, x: int, i: int, xs: object) -> float:
        return 1.0

    async def handler(event: dict[str, str], context: AsyncDurableContext) -> None:
        assert_type(await context.step(fetch("u")), dict[str, int])
        assert_type(await context.step(sync_body), int)
        assert_type(await context.run_in_child_context(child), str)
        assert_type(await context.map([1, 2], item), BatchResult[float])
        x, y = await asyncio.gather(context.step(sync_body), context.step(fetch("v")))
        assert_type(x, int)
        assert_type(y, dict[str, int])
        assert_type(await context.wait_for_callback(lambda cid, c: None), Any)
        callback = await context.create_callback()
        assert_type(await callback.result(), Any | None)
    """
)


def test_await_gives_the_functions_result_type(tmp_path: Path) -> None:
    source = tmp_path / "uses_async_face.py"
    source.write_text(SNIPPET)
    stdout, stderr, status = api.run(
        ["--strict", "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", str(source)]
    )
    assert status == 0, stdout + stderr
