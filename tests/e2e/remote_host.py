"""Remote functions for the end-to-end tests: handlers served in another process by a Lambda
Invoke API host, invoked by the engine through `HttpInvocable`.

`LambdaHostProcess` starts `python -m perdure.link.lambda_host` (with any interpreter: the
peer venv's runs the official SDK) with the environment a Lambda function has
(`AWS_ENDPOINT_URL_LAMBDA` pointing at the engine's HTTP API, credentials, a region).
`RemoteLink` is `HttpLink` with its functions registered as remote ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from perdure.engine import Engine
from perdure.link.remote import HttpInvocable
from perdure.server import EngineHost
from perdure.wire.codec import to_wire
from perdure.wire.types import InvocationInput, InvocationOutput

from .http_links import HttpLink
from .lambda_runtime import lambda_client

ROOT = Path(__file__).resolve().parents[2]


class LambdaHostProcess:
    """`python -m perdure.link.lambda_host --port PORT NAME=TARGET ...` in a subprocess."""

    def __init__(
        self,
        functions: dict[str, str],
        endpoint: str,
        *,
        python: str | Path = sys.executable,
        port: int = 0,
        flags: tuple[str, ...] = (),
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.functions = functions
        self.flags = flags
        self.python = str(python)
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "AWS_ENDPOINT_URL_LAMBDA": endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            **(extra_env or {}),
        }
        self.env.pop("AWS_PROFILE", None)
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self.start(port)

    def start(self, port: int = 0) -> None:
        """Start the host (again, on `port`) and wait until it listens."""
        specs = [f"{name}={target}" for name, target in self.functions.items()]
        self.process = subprocess.Popen(
            [self.python, "-m", "perdure.link.lambda_host", "--port", str(port), *self.flags, *specs],
            stdout=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("lambda host: listening on "), f"the host did not start: {line!r}"
        self.url = line.rsplit(" ", 1)[1].strip()

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def wait_for_exit(self, timeout: float = 30) -> int:
        assert self.process is not None
        code = self.process.wait(timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code

    def close(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


class MeasuredInvocable(HttpInvocable):
    """An `HttpInvocable` that records the size of every event it posts."""

    def __init__(self, name: str, url: str, **options: Any) -> None:
        super().__init__(name, url, **options)
        self.event_sizes: list[int] = []
        self.initial_state_sizes: list[int] = []
        self.markers: list[str | None] = []

    def __call__(self, input: InvocationInput, context: Any) -> InvocationOutput:

        event = json.dumps(to_wire(input, timestamps="epoch_millis"), separators=(",", ":"))
        self.event_sizes.append(len(event.encode()))
        self.initial_state_sizes.append(len(input.initial_execution_state.operations))
        self.markers.append(input.initial_execution_state.next_marker)
        return super().__call__(input, context)


class RemoteLink(HttpLink):
    """The engine behind `EngineHost`; every function served by one `LambdaHostProcess`."""

    name = "remote"

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        functions: dict[str, str],
        *,
        python: str | Path = sys.executable,
        flags: tuple[str, ...] = (),
        invocation_timeout: float = 60,
        **engine_options: Any,
    ) -> None:
        engine_options.setdefault("skip_time", True)
        self.engine = Engine.in_memory(**engine_options)
        self.host = EngineHost(self.engine, port=0, sync_timeout=60)
        self.invocables = {}
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        self.host.start()
        self.client = lambda_client(self.host.url, read_timeout=90)
        self.functions = LambdaHostProcess(functions, self.host.url, python=python, flags=flags)
        self.remote: dict[str, MeasuredInvocable] = {}
        for name in functions:
            invocable = MeasuredInvocable(name, self.functions.url, timeout=invocation_timeout)
            self.remote[name] = invocable
            self.engine.register_function(name, invocable)

    def close(self) -> None:
        self.functions.close()
        self.client.close()
        self.host.stop()
        self.engine.close()
