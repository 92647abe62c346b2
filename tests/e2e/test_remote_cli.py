"""`--function NAME=URL` and the limits on the command line: `perdure run` and `perdure serve`
invoking a function served by `python -m perdure.link.lambda_host` in another process."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import FLOWS, free_port, last_json, perdure_command, run_cli
from .lambda_runtime import lambda_client
from .remote_host import LambdaHostProcess

pytestmark = pytest.mark.timeout(120)

REMOTE = f"{FLOWS}/remote_flows.py"
HTTP = f"{FLOWS}/http_flows.py"


@pytest.fixture
def api_port() -> int:
    return free_port()


@pytest.fixture
def doubler(api_port: int) -> Iterator[LambdaHostProcess]:
    """`doubler` served in its own process; it reaches the engine at 127.0.0.1:`api_port`."""
    host = LambdaHostProcess({"doubler": f"{REMOTE}:doubler"}, f"http://127.0.0.1:{api_port}")
    try:
        yield host
    finally:
        host.close()


def test_run_invokes_a_remote_function(tmp_path: Path, api_port: int, doubler: LambdaHostProcess) -> None:
    done = run_cli(
        "run",
        f"{REMOTE}:caller",
        "--input",
        '{"n": 21}',
        "--function",
        f"doubler={doubler.url}",
        "--api-port",
        str(api_port),
        "--memory",
        "--skip-time",
        "--json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert last_json(done.stdout)["result"] == 42
    assert f"reach the engine at http://127.0.0.1:{api_port}" in done.stderr


def test_serve_invokes_a_remote_function(tmp_path: Path, api_port: int, doubler: LambdaHostProcess) -> None:
    serve = subprocess.Popen(
        perdure_command(
            "serve",
            "--port",
            str(api_port),
            "--memory",
            "--skip-time",
            "--function",
            f"doubler={doubler.url}",
        ),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert serve.stdout is not None
        assert "listening on" in serve.stdout.readline()
        assert f"function doubler -> {doubler.url}" in serve.stdout.readline()
        client = lambda_client(f"http://127.0.0.1:{api_port}", read_timeout=60)
        response = client.invoke(FunctionName="doubler", Payload=b'{"n": 4}')
        assert json.loads(response["Payload"].read()) == 8
        client.close()
    finally:
        serve.terminate()
        serve.wait(30)
        if serve.stdout is not None:
            serve.stdout.close()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("http://127.0.0.1:8080", "a remote function needs a name: --function NAME=http://127.0.0.1:8080"),
        ("fn=http://", "is not an http:// or https:// URL with a host"),
        ("fn=http://127.0.0.1:8080/?x=1", "a function URL has no query or fragment"),
        ("bad name=http://127.0.0.1:8080", "must be 1-64 characters"),
    ],
)
def test_a_malformed_remote_function_is_a_one_line_error(tmp_path: Path, spec: str, message: str) -> None:
    done = run_cli("serve", "--memory", "--port", "0", "--function", spec, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_help_shows_the_limits_and_their_defaults(tmp_path: Path) -> None:
    for command in ("run", "serve"):
        text = " ".join(run_cli(command, "--help", cwd=tmp_path).stdout.split())
        assert "--execution-timeout SECONDS" in text and "(default: 604800, a week;" in text
        assert "--max-operations N" in text and "(default: 3000, as on AWS)" in text


def test_exceeding_max_operations_names_the_option(tmp_path: Path) -> None:
    done = run_cli(
        "run", f"{HTTP}:chatty", "--input", '{"steps": 6}', "--max-operations", "4", "--memory", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    outcome = last_json(done.stdout)
    assert outcome["status"] == "FAILED"
    assert "--max-operations" in json.dumps(outcome["error"])


def test_exceeding_the_execution_timeout_names_the_option(tmp_path: Path) -> None:
    done = run_cli(
        "run", f"{HTTP}:waiting", "--input", '{"seconds": 120}', "--execution-timeout", "60",
        "--memory", "--skip-time", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    outcome = last_json(done.stdout)
    assert outcome["status"] == "TIMED_OUT"
    assert "--execution-timeout" in outcome["error"]["ErrorMessage"]


def test_an_execution_timeout_over_the_maximum_is_refused(tmp_path: Path) -> None:
    done = run_cli("run", f"{HTTP}:chatty", "--execution-timeout", "99999999", "--memory", cwd=tmp_path)
    assert done.returncode == 2
    assert "--execution-timeout 99999999 is over the maximum, 31622400 seconds" in done.stderr
