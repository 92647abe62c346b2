"""Shared helpers for the end-to-end tests (subprocess CLI runs)."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FLOWS = Path(__file__).parent / "flows"


def perdure_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "perdure.cli.main", *args]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server that must know its port before it starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    environment.pop("PERDURE_DB", None)
    return subprocess.run(
        perdure_command(*args), cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )


def last_json(stdout: str) -> dict[str, Any]:
    return json.loads(stdout.strip().splitlines()[-1])


def history_of_only_execution(cwd: Path, env: dict[str, str]) -> dict[int, tuple[str, str | None]]:
    """EventId -> (EventType, operation Id) of the store's only execution, as stored now."""
    listed = run_cli("list", "--json", cwd=cwd, env=env)
    assert listed.returncode == 0, listed.stderr
    executions = json.loads(listed.stdout)["DurableExecutions"]
    if not executions:
        return {}
    arn = executions[0]["DurableExecutionArn"]
    shown = run_cli("history", arn, "--json", cwd=cwd, env=env)
    assert shown.returncode == 0, shown.stderr
    return {e["EventId"]: (e["EventType"], e.get("Id")) for e in json.loads(shown.stdout)["Events"]}


def progress_then_pause(process: subprocess.Popen[str], trace: Path, rng: random.Random) -> bool:
    """Wait until the run writes a new trace line, then a random pause; False if it ended first."""
    seen = len(trace.read_text().splitlines()) if trace.exists() else 0
    while process.poll() is None:
        now = len(trace.read_text().splitlines()) if trace.exists() else 0
        if now > seen:
            time.sleep(rng.uniform(0.0, 0.6))
            return process.poll() is None
        time.sleep(0.01)
    return False


def run_with_random_kills(
    args: list[str], cwd: Path, env: dict[str, str], trace: Path, kills: int
) -> tuple[dict[str, Any], list[dict[int, tuple[str, str | None]]]]:
    """Run `args` (a `perdure run --name X --json`) again and again, SIGKILLing it `kills`
    times at a random moment after it made progress (a new `trace` line), then let it end.

    Returns the final run's JSON outcome and the history stored after each kill.
    """
    rng = random.Random(int(os.environ.get("PERDURE_KILL_SEED", "7")))
    killed = 0
    snapshots: list[dict[int, tuple[str, str | None]]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        if killed < kills and progress_then_pause(process, trace, rng):
            # killed at a random moment after this run made progress: inside a step body,
            # around a checkpoint send, or during a real wait
            process.send_signal(signal.SIGKILL)
            process.communicate()
            killed += 1
            snapshots.append(history_of_only_execution(cwd, env))
            continue
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
        assert killed >= kills - 1  # the last pause may outlast the run
        return last_json(stdout), snapshots
    raise AssertionError("the execution did not finish")


def kept_every_acknowledged_checkpoint(
    cwd: Path, env: dict[str, str], snapshots: list[dict[int, tuple[str, str | None]]]
) -> dict[int, tuple[str, str | None]]:
    """The final history, checked to hold every event any killed run had recorded."""
    final = history_of_only_execution(cwd, env)
    for snapshot in snapshots:
        assert all(final.get(event_id) == event for event_id, event in snapshot.items()), snapshot
    return final
