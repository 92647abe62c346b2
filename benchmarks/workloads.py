"""The benchmark workloads, written once against the official public API names.

Each workload is a plain function `handler(event, ctx)` built from an `Api` namespace, so
the same logic runs on perdure (`from perdure import ...`) and on the official SDK
(`from aws_durable_execution_sdk_python... import ...`). This module imports neither: the
worker passes the namespace in. Each workload also knows the result it must produce, so
a run that is fast but wrong is reported as a failure, not as a speed-up.

Workloads:
    W1   N sequential steps.
    W4   N sequential steps, a 1 s wait, then the replay of the N steps.
    W2   map over N items (one step each), max_concurrency 10.
    W3   parallel, N one-step branches (no cap).
    MAP5K map over 5,000 items, max_concurrency 50.
    W5   map over 200 items, each step returns a 2 KiB string (> 256 KiB in total),
         max_concurrency 10; W5-wait adds a 1 s wait after the map (forces a replay
         through the ReplayChildren path).

The async face's rows (perdure only: the official SDK has no async face), each compared
with its sync twin (`twin`):
    W1-async  W1 as an `async def` handler, `await ctx.step(...)` with async step bodies.
    W2-async  W2 with an async iteration function and async step bodies.
    GATHER    N async steps started at once with `asyncio.gather` (twin: W1, the same
              steps one after another).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

Api = SimpleNamespace
"""`durable_execution`, `Duration`, `MapConfig`, `ParallelConfig` of one SDK."""

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Workload:
    key: str
    """Stable id used on the command line and in results (`W1-1000`)."""
    family: str
    n: int
    steps: int
    """User steps the workload performs (for steps/s)."""
    build: Callable[[Api, int], Handler]
    expect: Callable[[int], Any]
    needs_batch: bool = False
    """Uses map/parallel (reported n/a on a side that does not have them yet)."""
    twin: str | None = None
    """For an async-face workload: the key of the sync workload it is compared with."""

    @property
    def is_async(self) -> bool:
        return self.twin is not None


# ----------------------------------------------------------------------- handlers


def _w1(api: Api, n: int) -> Handler:
    def handler(event: Any, ctx: Any) -> int:
        total = 0
        for i in range(n):
            total += ctx.step(lambda _, i=i: i)
        return total

    return handler


def _w4(api: Api, n: int) -> Handler:
    def handler(event: Any, ctx: Any) -> int:
        total = 0
        for i in range(n):
            total += ctx.step(lambda _, i=i: i)
        ctx.wait(api.Duration.from_seconds(1))
        return total

    return handler


def _map(api: Api, n: int, concurrency: int) -> Handler:
    def item(ctx: Any, value: int, index: int, items: Any) -> int:
        return int(ctx.step(lambda _: value * 2))

    def handler(event: Any, ctx: Any) -> int:
        batch = ctx.map(list(range(n)), item, config=api.MapConfig(max_concurrency=concurrency))
        batch.throw_if_error()
        return sum(batch.get_results())

    return handler


def _w3(api: Api, n: int) -> Handler:
    def branch(i: int) -> Callable[[Any], int]:
        return lambda ctx: int(ctx.step(lambda _: i))

    def handler(event: Any, ctx: Any) -> int:
        batch = ctx.parallel([branch(i) for i in range(n)])
        batch.throw_if_error()
        return sum(batch.get_results())

    return handler


def _blob(i: int) -> str:
    return (f"{i:05d}" * 410)[:2048]


def _w5(api: Api, n: int, wait: bool) -> Handler:
    def item(ctx: Any, value: int, index: int, items: Any) -> str:
        return str(ctx.step(lambda _: _blob(value)))

    def handler(event: Any, ctx: Any) -> list[str]:
        batch = ctx.map(list(range(n)), item, config=api.MapConfig(max_concurrency=10))
        batch.throw_if_error()
        results = list(batch.get_results())
        if wait:
            ctx.wait(api.Duration.from_seconds(1))
        return results

    return handler


# ----------------------------------------------------------------------- the async face


def _value(i: int) -> Callable[[Any], Any]:
    async def body(step_context: Any) -> int:
        return i

    return body


def _w1_async(api: Api, n: int) -> Handler:
    async def handler(event: Any, ctx: Any) -> int:
        total = 0
        for i in range(n):
            # The sync twin's step body, `lambda _, i=i: i`, as an `async def`: made in the
            # loop and unannotated as the lambda is (a def with annotations builds their dict
            # each time it runs, and a declared return type has the result checked against it).
            async def body(_, i=i):  # type: ignore[no-untyped-def]
                return i

            total += await ctx.step(body)
        return total

    return handler


def _map_async(api: Api, n: int, concurrency: int) -> Handler:
    async def item(ctx: Any, value: int, index: int, items: Any) -> int:
        return int(await ctx.step(_value(value * 2)))

    async def handler(event: Any, ctx: Any) -> int:
        batch = await ctx.map(list(range(n)), item, config=api.MapConfig(max_concurrency=concurrency))
        batch.throw_if_error()
        return sum(batch.get_results())

    return handler


def _gather(api: Api, n: int) -> Handler:
    async def handler(event: Any, ctx: Any) -> int:
        return sum(await asyncio.gather(*(ctx.step(_value(i)) for i in range(n))))

    return handler


# ----------------------------------------------------------------------- catalogue


def _all(quick: bool) -> list[Workload]:
    seq = (100, 500) if quick else (1000, 5000)
    big_map = 500 if quick else 5000
    out: list[Workload] = []
    for n in seq:
        out.append(Workload(f"W1-{n}", "W1", n, n, _w1, lambda n: sum(range(n))))
    for n in seq:
        out.append(Workload(f"W4-{n}", "W4", n, n, _w4, lambda n: sum(range(n))))
    m = 100 if quick else 1000
    out.append(
        Workload(f"W2-{m}", "W2", m, m, lambda a, n: _map(a, n, 10), lambda n: n * (n - 1), needs_batch=True)
    )
    out.append(Workload("W3-100", "W3", 100, 100, _w3, lambda n: sum(range(n)), needs_batch=True))
    out.append(
        Workload(
            f"MAP-{big_map}",
            "MAP5K",
            big_map,
            big_map,
            lambda a, n: _map(a, n, 50),
            lambda n: n * (n - 1),
            needs_batch=True,
        )
    )
    w5 = 50 if quick else 200
    out.append(
        Workload(
            f"W5-{w5}",
            "W5",
            w5,
            w5,
            lambda a, n: _w5(a, n, False),
            lambda n: [_blob(i) for i in range(n)],
            True,
        )
    )
    out.append(
        Workload(
            f"W5wait-{w5}",
            "W5-wait",
            w5,
            w5,
            lambda a, n: _w5(a, n, True),
            lambda n: [_blob(i) for i in range(n)],
            True,
        )
    )
    for n in seq:
        out.append(
            Workload(f"W1async-{n}", "W1-async", n, n, _w1_async, lambda n: sum(range(n)), twin=f"W1-{n}")
        )
    out.append(
        Workload(
            f"W2async-{m}",
            "W2-async",
            m,
            m,
            lambda a, n: _map_async(a, n, 10),
            lambda n: n * (n - 1),
            needs_batch=True,
            twin=f"W2-{m}",
        )
    )
    g = seq[0]
    out.append(Workload(f"GATHER-{g}", "GATHER", g, g, _gather, lambda n: sum(range(n)), twin=f"W1-{g}"))
    return out


def catalogue(quick: bool = False) -> dict[str, Workload]:
    return {w.key: w for w in _all(quick)}


def find(key: str) -> Workload:
    for quick in (False, True):
        found = catalogue(quick).get(key)
        if found is not None:
            return found
    raise KeyError(f"unknown workload {key!r}")
