"""What checking a request against the model costs, per KiB of body, against parsing it.

    python benchmarks/validation.py [--runs 5] [--only NAME,...]

Builds CheckpointDurableExecution bodies just under the route's body limit
(`perdure.server.http.BODY_LIMITS`), each a worst case of its kind, then times, best of
`--runs`: `json.loads` of the body, and `RequestValidator.check` of the decoded members
(refusals included: an invalid body costs its counting and its ten messages). It prints
µs per KiB of body for both and their ratio. The target: validation under 2x the parse.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perdure.server.http import BODY_LIMITS  # noqa: E402
from perdure.server.validation import RequestValidator  # noqa: E402
from perdure.wire.errors import InvalidParameterValueError  # noqa: E402

LIMIT = BODY_LIMITS["CheckpointDurableExecution"]
ARN = "arn:aws:lambda:us-east-1:000000000000:function:orders:$LATEST/durable-execution/n-1/0f2c3b"
TOKEN = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="


def _fill(item: Any, *, key: str = "Updates", overhead: int = 256) -> dict[str, Any]:
    """A checkpoint body whose `key` list repeats `item` to just under the limit."""
    size = len(json.dumps(item, separators=(",", ":"))) + 1
    return {"DurableExecutionArn": ARN, "CheckpointToken": TOKEN, key: [item] * ((LIMIT - overhead) // size)}


def _full_update() -> dict[str, Any]:
    return {
        "Id": "3f9a7c2e1b",
        "ParentId": "a91c0d2e77",
        "Name": "charge card",
        "Type": "STEP",
        "SubType": "Step",
        "Action": "RETRY",
        "Payload": '{"ok":true}',
        "Error": {"ErrorType": "Boom", "ErrorMessage": "no", "StackTrace": ["a", "b"]},
        "StepOptions": {"NextAttemptDelaySeconds": 5},
        "ChainedInvokeOptions": {"FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:f"},
    }


def _sparse() -> dict[str, Any]:
    """Small valid updates with ten invalid ones spread evenly (finding each costs most)."""
    body = _fill({"Id": "a", "Type": "STEP", "Action": "START"})
    updates = body["Updates"] = list(body["Updates"])
    for index in range(len(updates) // 10 - 1, len(updates), len(updates) // 10):
        updates[index] = {"Id": "a b", "Type": "STEP", "Action": "START"}
    return body


def bodies() -> dict[str, dict[str, Any]]:
    """name -> checkpoint members, each body just under the route's limit."""
    stack = {"Id": "a", "Type": "STEP", "Action": "FAIL", "Error": {"StackTrace": []}}
    one_stack = dict(stack, Error={"StackTrace": ["x"] * ((LIMIT - 512) // 4)})
    return {
        "small-updates": _fill({"Id": "a", "Type": "STEP", "Action": "START"}),
        "full-updates": _fill(_full_update()),
        "max-payload": {
            "DurableExecutionArn": ARN,
            "CheckpointToken": TOKEN,
            "Updates": [{"Id": "a", "Type": "STEP", "Action": "SUCCEED", "Payload": "x" * (LIMIT - 512)}],
        },
        "max-payload-unicode": {
            "DurableExecutionArn": ARN,
            "CheckpointToken": TOKEN,
            # escaped as \u00e9 in the body: six bytes a character
            "Updates": [
                {"Id": "a", "Type": "STEP", "Action": "SUCCEED", "Payload": "é" * ((LIMIT - 512) // 6)}
            ],
        },
        "stack-trace-entries": {"DurableExecutionArn": ARN, "CheckpointToken": TOKEN, "Updates": [one_stack]},
        "unique-function-names": {
            "DurableExecutionArn": ARN,
            "CheckpointToken": TOKEN,
            "Updates": [
                {
                    "Id": "a",
                    "Type": "CHAINED_INVOKE",
                    "Action": "START",
                    "ChainedInvokeOptions": {"FunctionName": f"f{i}"},
                }
                for i in range(LIMIT // 112)
            ],
        },
        "half-with-parent": {
            "DurableExecutionArn": ARN,
            "CheckpointToken": TOKEN,
            "Updates": [
                {"Id": "a", "Type": "STEP", "Action": "START", **({"ParentId": "p"} if i % 2 else {})}
                for i in range(LIMIT // 55)
            ],
        },
        "slow-pattern-names (invalid)": {
            "DurableExecutionArn": ARN,
            "CheckpointToken": TOKEN,
            # distinct 256-character names that fail the function-name pattern at their end,
            # after the regular expression backtracked through all of it
            "Updates": [
                {
                    "Id": "a",
                    "Type": "CHAINED_INVOKE",
                    "Action": "START",
                    "ChainedInvokeOptions": {"FunctionName": f"{i}".ljust(254, "a") + "::"},
                }
                for i in range(LIMIT // 352)
            ],
        },
        "ten-sparse-bad (invalid)": _sparse(),
        "empty-updates (invalid)": _fill({}),
        "null-updates (invalid)": _fill(None),
        "number-stack-trace (invalid)": {
            "DurableExecutionArn": ARN,
            "CheckpointToken": TOKEN,
            "Updates": [dict(stack, Error={"StackTrace": [1] * ((LIMIT - 512) // 2)})],
        },
        "bad-ids (invalid)": _fill({"Id": "a b", "Type": "STEP", "Action": "START"}),
        "bad-types (invalid)": _fill({"Id": 1, "Type": 2, "Action": 3}),
    }


def _best(runs: int, function: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated body names")
    args = parser.parse_args()
    validator = RequestValidator()
    wanted = {name for name in args.only.split(",") if name}
    print(f"CheckpointDurableExecution bodies under {LIMIT:,} bytes; best of {args.runs}")
    print(
        f"{'body':<26} {'KiB':>6} {'items':>9} {'parse µs/KiB':>13} {'check µs/KiB':>13} {'ratio':>6}  result"
    )
    for name, members in bodies().items():
        if wanted and name not in wanted:
            continue
        text = json.dumps(members, separators=(",", ":")).encode()
        assert len(text) <= LIMIT, (name, len(text))
        decoded = json.loads(text)
        outcome = ["valid"]

        def check(members: Any = decoded, outcome: list[str] = outcome) -> None:
            try:
                validator.check("CheckpointDurableExecution", members)
            except InvalidParameterValueError as exc:
                outcome[0] = exc.message.split(":", 1)[0]

        parse = _best(args.runs, lambda text=text: json.loads(text))
        checked = _best(args.runs, check)
        kib = len(text) / 1024
        items = len(decoded["Updates"])
        print(
            f"{name:<26} {kib:>6.0f} {items:>9,} {parse / kib * 1e6:>13.2f} {checked / kib * 1e6:>13.2f}"
            f" {checked / parse:>6.2f}  {outcome[0]}"
        )


if __name__ == "__main__":
    main()
