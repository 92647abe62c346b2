"""Peak RSS of `perdure serve` under a burst of maximum-size request bodies.

    python benchmarks/server_memory.py [--clients 32] [--rounds 2] [--kind invoke|checkpoint|both]

Starts `perdure serve --memory --port 0` in a subprocess, reads its resident memory, then
has `--clients` threads each send `--rounds` requests at once, every body the largest its
route reads and the worst case for JSON decoding (`[{},{},...]`: 25 bytes of Python
objects per byte of body):

- invoke: a 6 MiB Invoke payload for an unknown function (decoded and validated, then 404);
- checkpoint: a CheckpointDurableExecution body at its limit for an unknown execution.

It prints the server's RSS before, its peak (`VmHWM`), the answers by status, and the
bound docs/server.md states: baseline + 1.25 x `memory_budget` (256 MiB: the requests in
flight; the quarter more is what the allocator keeps of memory they freed). Linux only (/proc).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
ALLOCATOR_SLACK = 1.25
"""The bound is the baseline plus this many times the memory budget: the budget bounds what
requests in flight hold; the allocator may keep some of what they freed (measured up to 1.02)."""
sys.path.insert(0, str(ROOT))

from perdure.server.http import BODY_LIMITS, MiB, ServerOptions  # noqa: E402

SERVE = ("serve", "--memory", "--port", "0")
ARN = "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST/durable-execution/n/id"
PATHS = {
    "invoke": ("Invoke", "/2015-03-31/functions/nobody/invocations"),
    "checkpoint": (
        "CheckpointDurableExecution",
        f"/2025-12-01/durable-executions/{quote(ARN, safe='')}/checkpoint",
    ),
}


def worst_case_body(size: int, kind: str) -> bytes:
    """A JSON body of exactly `size` bytes made of empty objects (the costliest to decode)."""
    items = (size - 40) // 3
    inner = b"[" + b",".join([b"{}"] * items) + b"]"
    body = inner if kind == "invoke" else b'{"CheckpointToken":"t","Updates":' + inner + b"}"
    return body + b" " * (size - len(body))


def rss_kib(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    assert found, field
    return int(found.group(1))


def send(port: int, path: str, body: bytes, statuses: collections.Counter[str], lock: threading.Lock) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=300) as sock:
            sock.sendall(head + body)
            answer = b""
            while b"\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        status = answer.split(b" ", 2)[1].decode() if answer else "closed"
    except OSError as exc:
        status = type(exc).__name__
    with lock:
        statuses[status] += 1


def burst(port: int, kind: str, clients: int, rounds: int) -> collections.Counter[str]:
    operation, path = PATHS[kind]
    body = worst_case_body(BODY_LIMITS[operation], kind)
    statuses: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()

    def client() -> None:
        for _ in range(rounds):
            send(port, path, body, statuses, lock)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--kind", choices=("invoke", "checkpoint", "both"), default="both")
    args = parser.parse_args()
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    environment.pop("PERDURE_DB", None)
    server = subprocess.Popen(
        [sys.executable, "-c", "from perdure.cli.main import main; raise SystemExit(main())", *SERVE],
        env=environment,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        port = int(line.rsplit(":", 1)[1])
        time.sleep(0.5)
        baseline = rss_kib(server.pid, "VmRSS")
        budget = ServerOptions().memory_budget
        results: dict[str, object] = {"baseline_mib": round(baseline / 1024, 1)}
        kinds = ("invoke", "checkpoint") if args.kind == "both" else (args.kind,)
        started = time.monotonic()
        for kind in kinds:
            operation, _ = PATHS[kind]
            statuses = burst(port, kind, args.clients, args.rounds)
            results[kind] = {
                "body_mib": round(BODY_LIMITS[operation] / MiB, 2),
                "requests": args.clients * args.rounds,
                "statuses": dict(statuses),
                "peak_mib_so_far": round(rss_kib(server.pid, "VmHWM") / 1024, 1),
            }
        peak = rss_kib(server.pid, "VmHWM")
        results["seconds"] = round(time.monotonic() - started, 1)
        results["peak_mib"] = round(peak / 1024, 1)
        bound = baseline * 1024 + budget * ALLOCATOR_SLACK
        results["bound_mib"] = round(bound / MiB, 1)
        results["within_bound"] = peak * 1024 <= bound
        print(json.dumps(results, indent=2))
        return 0 if results["within_bound"] else 1
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    raise SystemExit(main())
