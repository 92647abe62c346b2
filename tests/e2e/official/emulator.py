"""One handler on the official testing library's in-process emulator, under either SDK.

Run by tests/e2e/test_official_emulator.py with the peer venv's Python (the official SDK
3.0 and its testing library installed) and perdure on `PYTHONPATH`:

    python emulator.py perdure|official

The handler (`handler.py`, the SDK chosen by the argument) is a map of 6 items whose
results together pass 256 KiB (so the map is checkpointed with ReplayChildren and
replayed from its children), a callback the driver completes, and a step that fails its
first attempt and is retried. Prints one JSON object: the status, the result, and the
operations and history as the emulator recorded them.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ["E2E_SDK"] = sys.argv[1]

from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner
from handler import handler


def _operation(op: Any) -> dict[str, Any]:
    return {
        "type": type(op).__name__,
        "name": getattr(op, "name", None),
        "status": str(getattr(op, "status", None)),
        "children": len(getattr(op, "child_operations", None) or ()),
    }


def main() -> None:
    with DurableFunctionTestRunner(handler=handler) as runner:
        arn = runner.run_async(input=json.dumps({"items": list(range(6))}), execution_timeout=120)
        callback_id = runner.wait_for_callback(arn, name="approval", timeout=120)
        runner.send_callback_success(callback_id, json.dumps({"approved": True}).encode())
        result = runner.wait_for_result(arn, timeout=120)
        history = runner.get_execution_history(arn, include_execution_data=True)
        events = [
            (str(getattr(e, "event_type", None)), getattr(e, "name", None), getattr(e, "sub_type", None))
            for e in history.events
        ]
        map_done = next(
            e for e in history.events if e.event_type == "ContextSucceeded" and e.name == "big-map"
        )
        map_payload = map_done.context_succeeded_details.result.payload
        stored = runner._store.load(arn)  # the emulator's record of the map operation
        big_map = next(op for op in stored.operations if op.name == "big-map")
        print(
            json.dumps(
                {
                    "status": str(result.status),
                    "result": json.loads(result.result) if result.result else None,
                    "error": str(result.error) if result.error else None,
                    "operations": [_operation(op) for op in result.operations],
                    "events": events,
                    "more_history": bool(history.next_marker),
                    "map_summary": {k: v for k, v in json.loads(map_payload).items() if k != "perdure"},
                    "map_bytes": len(map_payload.encode()),
                    "map_replay_children": big_map.context_details.replay_children,
                }
            )
        )


if __name__ == "__main__":
    main()
