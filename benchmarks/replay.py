"""The engine alone: replay a workload's checkpoint requests against a fresh engine.

    python benchmarks/replay.py W2-1000 [--runs 7] [--profile tottime]

Runs the workload once on perdure (as `make bench` does), recording every
CheckpointDurableExecution request the SDK sends; then, `--runs` times, opens a fresh
engine on a new SQLite file, starts the execution, opens an invocation and sends the same
requests (each with the token the previous response gave), timing only those calls. The
figure excludes the SDK, its threads and the GIL hand-offs between them, so an engine or
store change can be measured to a fraction of a millisecond on a noisy machine, where a
whole run varies by several percent. `--profile` prints a cProfile of one replay.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import perdure_side
import workloads

from perdure.engine import Engine, lifecycle
from perdure.engine.invoker import LambdaContext
from perdure.engine.service import EngineService
from perdure.wire.types import CheckpointDurableExecutionRequest, InvocationInput, InvocationOutput


def capture(key: str, db_dir: Path) -> list[CheckpointDurableExecutionRequest]:
    """The checkpoint requests of one perdure run of workload `key`, in order."""
    workload = workloads.find(key)
    requests: list[CheckpointDurableExecutionRequest] = []
    original = EngineService.checkpoint_durable_execution

    def recording(self: EngineService, request: CheckpointDurableExecutionRequest) -> Any:
        requests.append(request)
        return original(self, request)

    EngineService.checkpoint_durable_execution = recording  # type: ignore[method-assign]
    try:
        prepared = perdure_side.prepare(workload.build(perdure_side.api(), workload.n))
        perdure_side.run(prepared, {"n": workload.n}, str(db_dir / "capture.db"))
    finally:
        EngineService.checkpoint_durable_execution = original  # type: ignore[method-assign]
    return requests


def _never_invoked(input: InvocationInput, context: LambdaContext) -> InvocationOutput:
    raise AssertionError("the replay opens the invocation itself")


def replay(requests: list[CheckpointDurableExecutionRequest], db_path: Path, profile: str | None) -> float:
    """Seconds the engine spends on `requests`, sent to a fresh engine at `db_path`."""
    with Engine.open(db_path, skip_time=True, max_operations=1_000_000) as engine:
        engine.register_function("bench", _never_invoked)
        arn = engine.start_execution("bench", "{}", execution_name="bench")
        with engine.store.transaction() as tx:
            begun = lifecycle.begin_invocation(tx, engine.clock.now(), arn, "replay")
        assert begun is not None
        token: str | None = begun.input.checkpoint_token
        service = engine.service
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        for request in requests:
            if token is None:
                break
            sent = dataclasses.replace(request, durable_execution_arn=arn, checkpoint_token=token)
            token = service.checkpoint_durable_execution(sent).checkpoint_token
        seconds = time.perf_counter() - started
        if profiler is not None:
            profiler.disable()
            pstats.Stats(profiler).sort_stats(profile or "tottime").print_stats(30)
    return seconds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", help="a workload key, e.g. W2-1000")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--profile", metavar="SORT", help="print a cProfile of one replay, sorted by SORT")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="perdure-replay-") as tmp:
        directory = Path(tmp)
        requests = capture(args.workload, directory)
        updates = sum(len(r.updates) for r in requests)
        if args.profile:
            replay(requests, directory / "profile.db", args.profile)
        times = sorted(replay(requests, directory / f"run-{i}.db", None) for i in range(args.runs))
    print(
        f"{args.workload}: {len(requests)} requests, {updates} updates; engine"
        f" median {statistics.median(times) * 1e3:.1f} ms, min {times[0] * 1e3:.1f} ms ({args.runs} runs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
