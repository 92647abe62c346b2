"""Remote functions for the end-to-end tests: handlers served in another process by a Lambda
Invoke API host, invoked by the engine through `HttpInvocable`.

`LambdaHostProcess` starts `python -m perdure.link.lambda_host` (with any interpreter: the
peer venv's runs the official SDK) with the environment a Lambda function has
(`AWS_ENDPOINT_URL_LAMBDA` pointing at the engine's HTTP API, credentials, a region).
`RemoteLink` is `HttpLink` with its functions registered as remote ones; `ServeLink` is
`perdure serve --function NAME=URL ...` in a process of its own. `run_cases` runs the
remote-function cases on any link. No pytest at run time: `official/in_process.py` runs the
cases in the peer venv.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from perdure.engine import Engine
from perdure.link.remote import HttpInvocable
from perdure.server import EngineHost

from .helpers import FLOWS, free_port, perdure_command
from .http_links import HttpLink, InProcessLink, Outcome, callback_id
from .lambda_runtime import lambda_client

if TYPE_CHECKING:
    import pytest

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


class RemoteLink(HttpLink):
    """The engine behind `EngineHost`; every function served by one `LambdaHostProcess`."""

    name = "remote"

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        functions: dict[str, str],
        *,
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
        self.functions = LambdaHostProcess(functions, self.host.url)
        for name in functions:
            self.engine.register_function(
                name, HttpInvocable(name, self.functions.url, timeout=invocation_timeout)
            )

    def close(self) -> None:
        self.functions.close()
        self.client.close()
        self.host.stop()
        self.engine.close()


class ServeLink(HttpLink):
    """`perdure serve --skip-time --function NAME=URL ...` in a process of its own (in memory,
    its log, with every request, in `log`), every function served by one `LambdaHostProcess`;
    executions are started, answered and read with boto3."""

    name = "serve"

    def __init__(
        self,
        functions: dict[str, str],
        log: Path,
        *,
        python: str | Path = sys.executable,
        flags: tuple[str, ...] = (),
    ) -> None:
        port = free_port()
        self.functions = LambdaHostProcess(functions, f"http://127.0.0.1:{port}", python=python, flags=flags)
        specs = [f"--function={name}={self.functions.url}" for name in functions]
        self.log: IO[str] = log.open("w")
        self.server = subprocess.Popen(
            perdure_command("serve", "--port", str(port), "--memory", "--skip-time", "--verbose", *specs),
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            cwd=ROOT,
        )
        assert self.server.stdout is not None
        line = self.server.stdout.readline()
        if "listening on" not in line:
            self._stop()
            raise AssertionError(f"perdure serve did not start: {line!r} (its log: {log})")
        self.client = lambda_client(f"http://127.0.0.1:{port}", read_timeout=90)

    def close(self) -> None:
        self.client.close()
        self._stop()

    def _stop(self) -> None:
        self.server.terminate()
        self.server.wait(30)
        if self.server.stdout is not None:
            self.server.stdout.close()
        self.log.close()
        self.functions.close()


# -------------------------------------------------------------------- the cases


REMOTE_FLOWS = f"{FLOWS}/remote_flows.py"
PERDURES = {
    "journey": f"{REMOTE_FLOWS}:journey",
    "doubler": f"{REMOTE_FLOWS}:doubler",
    "big_state": f"{REMOTE_FLOWS}:big_state",
    "retrying": f"{FLOWS}/http_flows.py:retrying",
    "approval": f"{FLOWS}/http_flows.py:approval",
}
"""The functions of the cases, on perdure's SDK."""
OFFICIALS = {name: f"{FLOWS}/remote_official.py:{name}" for name in PERDURES}
"""The same functions written with the official SDK's names (it runs them in the peer venv)."""
EXPECTED = {
    "journey": ("SUCCEEDED", {"first": 20, "sizes": [40_000 * (i + 1) for i in range(6)], "doubled": 42}),
    "retrying": ("SUCCEEDED", {"attempts": 3}),
    "big_state": ("SUCCEEDED", 30 * 220_000 + 4),
    "approval": ("SUCCEEDED", {"answer": '"approved"'}),
}
"""Each case's (status, result)."""
SMALL_PAGES = 64 * 1024
"""A state page size that makes every invocation past the first few steps page its state."""


def run_cases(link: InProcessLink | HttpLink) -> dict[str, Outcome]:
    """Steps, a wait, a map whose results are rebuilt by replaying its children and a chained
    invoke (`journey`); a step retried twice (`retrying`); a state over 6 MB (`big_state`); a
    callback answered from outside (`approval`)."""
    outcomes = {
        "journey": link.run("journey", {}, "journey-1"),
        "retrying": link.run("retrying", {"failures": 2}, "retry-1"),
        "big_state": link.run("big_state", {"steps": 30}, "big-1"),
    }
    arn = link.start("approval", {})
    link.succeed_callback(callback_id(link, arn), b'"approved"')
    outcomes["approval"] = link.finish(arn)
    return outcomes
