"""Cold start: what a fresh Lambda process pays before and during its first invocation.

    python benchmarks/coldstart.py                 # both sides, median of 9 interleaved runs
    python benchmarks/coldstart.py --runs 15 --side perdure
    python benchmarks/coldstart.py --perdure-python /tmp/old/.venv/bin/python   # another build
    python benchmarks/coldstart.py --child perdure first   # one measurement, one JSON line

Two measurements, each in a fresh interpreter (`python -c`-style child of this script):

- `import`: `import perdure` (the peer: `import aws_durable_execution_sdk_python`);
- `first`: that import, decorating a one-step handler with `durable_execution`, and the
  handler's first invocation: a Lambda event dict (epoch-millisecond timestamps, as
  Lambda sends it) and a stand-in boto3 client that answers the step's checkpoints in
  memory (no network, no boto3 import), so what is measured is the SDK's own work.

Both sides import compiled modules, as a deployed function does: the children may write
`__pycache__` (PYTHONDONTWRITEBYTECODE is dropped) and a first, unmeasured run of each
compiles what is missing. Each child reports the wall time of the measured region (`time.perf_counter`) and the
process CPU time spent in it (`time.process_time`); the parent prints the medians. The
sides alternate run by run, so a slow moment of a loaded machine hits both. This script
measures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PEER_PYTHON = HERE / ".peer-venv" / "bin" / "python"
MODULE = {"perdure": "perdure", "peer": "aws_durable_execution_sdk_python"}
ARN = "arn:aws:lambda:us-east-1:123456789012:function:cold:$LATEST/durable-execution/run/0001"


class StandInLambdaClient:
    """The two boto3 ``lambda`` calls a durable invocation makes, answered in memory."""

    def __init__(self) -> None:
        self.calls = 0

    def checkpoint_durable_execution(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        operations = []
        for update in request.get("Updates", []):
            status = {"START": "STARTED", "SUCCEED": "SUCCEEDED", "FAIL": "FAILED"}.get(update["Action"])
            if status is None:
                continue
            op: dict[str, Any] = {
                "Id": update["Id"],
                "Type": update["Type"],
                "Status": status,
                "StartTimestamp": _now(),
            }
            for key in ("ParentId", "Name", "SubType"):
                if key in update:
                    op[key] = update[key]
            if update["Type"] == "STEP":
                op["StepDetails"] = (
                    {"Attempt": 1, "Result": update.get("Payload")} if status != "STARTED" else {}
                )
            operations.append(op)
        return {
            "CheckpointToken": f"token-{self.calls}",
            "NewExecutionState": {"Operations": operations},
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    def get_durable_execution_state(self, **request: Any) -> dict[str, Any]:
        return {"Operations": [], "ResponseMetadata": {"HTTPStatusCode": 200}}


def _now() -> Any:
    import datetime

    return datetime.datetime.now(datetime.UTC)


def _event() -> dict[str, Any]:
    started = int(time.time() * 1000)
    return {
        "DurableExecutionArn": ARN,
        "CheckpointToken": "token-0",
        "InitialExecutionState": {
            "Operations": [
                {
                    "Id": "execution-0",
                    "Type": "EXECUTION",
                    "Status": "STARTED",
                    "StartTimestamp": started,
                    "ExecutionDetails": {"InputPayload": json.dumps({"n": 3})},
                }
            ],
            "NextMarker": "",
        },
    }


def child(side: str, what: str) -> dict[str, Any]:
    """Measure `what` in this (fresh) process."""
    event = _event() if what == "first" else None
    wall, cpu = time.perf_counter(), time.process_time()
    sdk = __import__(MODULE[side])
    result: Any = None
    if what == "first":

        def handler(event: Any, ctx: Any) -> int:
            return int(ctx.step(lambda _: 6))

        client = StandInLambdaClient()
        lambda_handler = sdk.durable_execution(handler, boto3_client=client)
        result = lambda_handler(event, None)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if what == "first" and (result or {}).get("Status") != "SUCCEEDED":
        raise SystemExit(f"{side}: the first invocation did not succeed: {result!r}")
    return {"side": side, "what": what, "ms": wall * 1000, "cpu_ms": cpu * 1000}


def measure(pythons: dict[str, str], runs: int) -> dict[str, dict[str, dict[str, float]]]:
    """{side: {what: {"ms": median, "cpu_ms": median}}}, runs interleaved across sides.

    `pythons` maps each side's label to its interpreter (the label's first word is the side).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in range(runs + 1):  # the first run compiles what is not compiled yet
        for what in ("import", "first"):
            for label, python in pythons.items():
                out = subprocess.run(
                    [python, str(Path(__file__).resolve()), "--child", label.split()[0], what],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=str(HERE),
                    env=env,
                )
                if run:
                    row = json.loads(out.stdout.strip().splitlines()[-1])
                    samples.setdefault((label, what), []).append(row)
    result: dict[str, dict[str, dict[str, float]]] = {}
    for (side, what), rows in samples.items():
        result.setdefault(side, {})[what] = {
            "ms": statistics.median(r["ms"] for r in rows),
            "cpu_ms": statistics.median(r["cpu_ms"] for r in rows),
        }
    return result


def table(result: dict[str, dict[str, dict[str, float]]]) -> str:
    lines = [
        "cold start, median wall ms / CPU ms:",
        f"  {'':<40} import    import + decorate + first invocation",
    ]
    for side, rows in result.items():
        cells = [f"{rows[what]['ms']:7.1f} / {rows[what]['cpu_ms']:5.1f}" for what in ("import", "first")]
        lines.append(f"  {side:<40} " + "    ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--side", choices=("both", "perdure", "peer"), default="both")
    parser.add_argument(
        "--perdure-python", action="append", default=[], help="also measure the perdure of this interpreter"
    )
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "WHAT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    pythons: dict[str, str] = {}
    if args.side in ("both", "perdure"):
        pythons["perdure"] = sys.executable
        for python in args.perdure_python:
            pythons[f"perdure ({python})"] = python
    if args.side in ("both", "peer"):
        if PEER_PYTHON.exists():
            pythons["peer"] = str(PEER_PYTHON)
        else:
            print("the peer venv is missing: python benchmarks/run.py --install-peer", file=sys.stderr)
    print(table(measure(pythons, args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
