"""A group of `perdure serve` workers on one database, for the multi-worker end-to-end test
and the workers benchmark (benchmarks/workers.py).

Each worker keeps its port across restarts (a client that knew it finds it again) and
writes its output to a log file of its own, appended across restarts, so a failure can show
each worker's last lines. `WorkerGroup.call` sends a boto3 request to a worker, and to the
next one when that one does not answer (killed, restarting), as a client of several
workers behind no load balancer would; service errors are not retried.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from botocore.exceptions import BotoCoreError

from .helpers import perdure_command
from .lambda_runtime import lambda_client

START_TIMEOUT = 60.0
LISTENING = "perdure serve: listening on "


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServeWorker:
    """One `perdure serve --port PORT ARGS...` process, started again on the same port after
    a kill."""

    def __init__(self, index: int, args: Sequence[str], log: Path, cwd: Path, env: dict[str, str]) -> None:
        self.index = index
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = list(args)
        self.log = log
        self.cwd = cwd
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.client = lambda_client(self.url, connect_timeout=5, max_pool_connections=64)

    def start(self) -> None:
        """Start the process and return once it listens (AssertionError with its log's tail
        if it exits or stays silent)."""
        assert not self.is_running, f"worker {self.index} is already running"
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"=== worker {self.index}, start {self.starts}\n".encode())
            offset = out.tell()
            self.process = subprocess.Popen(
                perdure_command("serve", "--port", str(self.port), *self.args),
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            with self.log.open("rb") as log:
                log.seek(offset)
                if LISTENING.encode() in log.read():
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"worker {self.index} did not start:\n{self.tail()}")

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no lease released, no invocation finished, nothing flushed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self) -> None:
        """SIGTERM (once: a second one ends `perdure serve` without stopping gracefully)."""
        if self.is_running:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 60) -> int | None:
        """Wait for the process to end (SIGKILL past `timeout`); its exit status, None if it
        had to be killed or was never started."""
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def tail(self, lines: int = 25) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        last = "\n".join(text.splitlines()[-lines:])
        return f"--- worker {self.index} ({self.url}), {self.log}:\n{last}"


class WorkerGroup:
    """`count` workers serving `functions` (`NAME=TARGET`) on the database `db`."""

    def __init__(
        self,
        count: int,
        db: str,
        functions: Sequence[str],
        logs: Path,
        env: dict[str, str] | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        environment.pop("PERDURE_DB", None)
        args = ["--db", db, *extra_args]
        for function in functions:
            args += ["--function", function]
        logs.mkdir(parents=True, exist_ok=True)
        self.workers = [
            ServeWorker(i, args, logs / f"worker-{i}.log", logs, environment) for i in range(count)
        ]
        self._next = 0
        self._lock = threading.Lock()

    def __enter__(self) -> WorkerGroup:
        try:
            for worker in self.workers:
                worker.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> list[int | None]:
        """SIGTERM every worker at once, then wait for each; their exit statuses."""
        for worker in self.workers:
            worker.terminate()
        codes = [worker.wait() for worker in self.workers]
        for worker in self.workers:
            worker.client.close()
        return codes

    def call(self, operation: str, *, worker: int | None = None, patience: float = 60, **kwargs: Any) -> Any:
        """`client.<operation>(**kwargs)` on `worker` (default: the next in turn), moving on
        to the next worker while one does not answer, for up to `patience` seconds."""
        if worker is None:
            with self._lock:
                worker, self._next = self._next, self._next + 1
        deadline = time.monotonic() + patience
        tries = 0
        while True:
            target = self.workers[(worker + tries) % len(self.workers)]
            try:
                return getattr(target.client, operation)(**kwargs)
            except BotoCoreError:
                if time.monotonic() > deadline:
                    raise
            tries += 1
            if tries % len(self.workers) == 0:
                time.sleep(0.1)  # none answered: the only live one may be restarting

    def tails(self, lines: int = 25) -> str:
        return "\n".join(worker.tail(lines) for worker in self.workers)
