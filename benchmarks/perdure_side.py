"""perdure's side: the workloads through perdure's engine, on its default SQLite store.

`run()` is the one function the harness calls. It must run the handler to its end through
the embedded engine and the in-process link, with a fresh SQLite file at `db_path` (the
default store, `synchronous=FULL`) and the skip clock, and return the execution status
and the decoded result.

It uses the engine facade (`perdure.engine.Engine`) and the in-process link
(`perdure.link.inprocess.InProcessInvocable`). Where an API has not landed yet (map or
parallel, say) `run()` raises `Unsupported` and the harness prints "n/a" for the row
instead of failing.
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any, Literal


class Unsupported(Exception):
    """perdure cannot run this workload yet (an API has not landed)."""


def api() -> SimpleNamespace:
    """The public names the workloads use, imported from the top-level package.

    A name perdure does not export yet becomes a stand-in that raises `Unsupported` when a
    workload uses it, so the workloads that do not need it still run.
    """
    import perdure

    try:
        # Imported here, before the harness starts its timer (the peer imports its runner
        # at module level, also outside the timed region).
        import perdure.engine
        import perdure.link.inprocess
    except ImportError as exc:
        raise Unsupported(f"perdure's engine or in-process link is not available: {exc}") from None
    if not hasattr(perdure, "durable_execution"):
        raise Unsupported("perdure does not export durable_execution yet")
    names = ("durable_execution", "Duration", "MapConfig", "ParallelConfig")
    return SimpleNamespace(**{name: getattr(perdure, name, None) or _missing(name) for name in names})


def _missing(name: str) -> Any:
    def stand_in(*args: Any, **kwargs: Any) -> Any:
        raise Unsupported(f"perdure does not export {name} yet")

    return stand_in


def prepare(handler: Any) -> tuple[Any, list[float]]:
    """`handler` (undecorated) decorated, each invocation timed: what `run` runs.

    Done before the harness starts its timer, as a Lambda function's module (its handler
    decorated) loads in the init phase, before the first request; the COLD row measures
    import, decoration and a first invocation together.
    """
    return timed(api().durable_execution(handler))


def run(
    prepared: tuple[Any, list[float]],
    payload: dict[str, Any],
    db_path: str,
    durability: Literal["full", "normal"] = "full",
) -> tuple[str, Any, list[float]]:
    """Run a `prepare`d handler on perdure's engine.

    Returns:
        (execution status, decoded result, wall seconds of each invocation).

    The engine facade on a SQLite file with the skip clock, the handler registered through
    the in-process link (the engine's service object is the SDK's client). `durability`
    `"normal"` (no fsync at commit) is for `worker.py --without-fsync` only.
    """
    lambda_handler, invocations = prepared
    try:
        from perdure.engine import Engine
        from perdure.link.inprocess import InProcessInvocable
    except ImportError as exc:
        raise Unsupported(f"perdure's engine or in-process link is not available: {exc}") from None

    # The largest workload (MAP-5000) records ~10,000 operations; AWS's 3,000 is the default.
    with Engine.open(db_path, skip_time=True, max_operations=1_000_000, durability=durability) as engine:
        engine.register_function("bench", InProcessInvocable(lambda_handler, engine.service))
        arn = engine.start_execution("bench", json.dumps(payload), execution_name="bench")
        done = engine.drive(arn)
    status = str(getattr(done.status, "value", done.status))
    value = json.loads(done.result) if done.result else None
    if status != "SUCCEEDED" and done.error is not None:
        if _is_missing_feature(done.error.error_type, done.error.error_message):
            raise Unsupported(f"perdure: {done.error.error_type}: {done.error.error_message}")
        raise RuntimeError(f"execution {status}: {done.error.error_type}: {done.error.error_message}")
    return status, value, invocations


def timed(lambda_handler: Any) -> tuple[Any, list[float]]:
    """Wrap a Lambda handler so each invocation's wall time is recorded."""
    seconds: list[float] = []

    def handler(event: Any, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return lambda_handler(event, context)
        finally:
            seconds.append(time.perf_counter() - started)

    return handler, seconds


def _is_missing_feature(error_type: str | None, message: str | None) -> bool:
    text = (message or "").lower()
    if error_type == "AttributeError" and "durablecontext" in text:
        return True  # e.g. ctx.map / ctx.parallel before they land
    return "not implemented" in text or "does not export" in text
