"""`perdure serve` as a process: start on an ephemeral port, boto3 against it, stop by signal."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from perdure.server import Credentials, HttpServiceClient
from perdure.wire.types import InvokeRequest

from .helpers import FLOWS, perdure_command, run_cli
from .http_links import lambda_client

pytestmark = pytest.mark.timeout(90)

ORDER = f"{FLOWS}/order_flow.py:handler"
ORDER_INPUT = {"order_id": "o-9", "items": ["lamp"]}
START_TIMEOUT = 30


class Served:
    def __init__(self, process: subprocess.Popen[str], url: str, lines: queue.Queue[str]) -> None:
        self.process = process
        self.url = url
        self.lines = lines
        self.client = lambda_client(url)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


@contextmanager
def serve(*args: str, cwd: Path) -> Iterator[Served]:
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    environment.pop("PERDURE_DB", None)
    process = subprocess.Popen(
        perdure_command("serve", "--port", "0", *args),
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True)
    reader.start()
    try:
        try:
            first = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            pytest.fail("perdure serve printed nothing")
        bound = args[args.index("--host") + 1] if "--host" in args else "127.0.0.1"
        assert first.startswith(f"perdure serve: listening on http://{bound}:"), first
        served = Served(process, first.split()[-1], lines)
        try:
            yield served
        finally:
            served.client.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        reader.join(timeout=10)  # it reads to the end of stdout, then stops
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_serve_invoke_and_stop_on_sigterm(tmp_path: Path):
    with serve("--memory", "--skip-time", "--function", f"order={ORDER}", cwd=tmp_path) as served:
        assert served.lines.get(timeout=5).strip() == f"function order -> {ORDER}"
        response = served.client.invoke(FunctionName="order", Payload=json.dumps(ORDER_INPUT).encode())
        assert response["StatusCode"] == 200
        assert json.loads(response["Payload"].read())["tracking"] == "shipped-o-9"
        code, stderr = served.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert "stopped (signal 15)" in stderr and "Traceback" not in stderr


def test_state_survives_a_restart_on_the_same_database(tmp_path: Path):
    db = str(tmp_path / "serve.db")
    args = ("--db", db, "--skip-time", "--isolation", "process", "--function", ORDER)
    with serve(*args, cwd=tmp_path) as served:
        response = served.client.invoke(
            FunctionName="order_flow-handler",
            Payload=json.dumps(ORDER_INPUT).encode(),
            DurableExecutionName="kept",
        )
        assert response["StatusCode"] == 200
        arn = response["DurableExecutionArn"]
        code, stderr = served.stop(signal.SIGINT)
    assert code == 0, stderr
    with serve(*args, cwd=tmp_path) as served:
        execution = served.client.get_durable_execution(DurableExecutionArn=arn)
        assert execution["Status"] == "SUCCEEDED" and execution["DurableExecutionName"] == "kept"
        again = served.client.invoke(
            FunctionName="order_flow-handler",
            Payload=json.dumps(ORDER_INPUT).encode(),
            DurableExecutionName="kept",
        )
        assert again["DurableExecutionArn"] == arn
        assert served.stop()[0] == 0


def test_a_taken_port_and_a_bad_function_are_one_line_errors(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = run_cli("serve", "--memory", "--port", port, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "cannot listen on 127.0.0.1:" in done.stderr, done.stderr
    for spec, message in [
        ("missing.py:handler", "no such file"),
        ("bad name=x.py:h", "must be 1-64 characters"),
        ("nocolon", "must be 'path/file.py:function'"),
    ]:
        done = run_cli("serve", "--memory", "--port", "0", "--function", spec, cwd=tmp_path, timeout=60)
        assert done.returncode == 2 and message in done.stderr, (spec, done.stderr)
        assert "Traceback" not in done.stderr


def test_a_callback_sent_by_another_process_on_the_same_database_resumes_the_execution(tmp_path: Path):
    db = str(tmp_path / "serve.db")
    approval = f"{FLOWS}/http_flows.py:approval"
    with serve("--db", db, "--function", f"approval={approval}", cwd=tmp_path) as served:
        arn = served.client.invoke(FunctionName="approval", Payload=b"{}", InvocationType="Event")[
            "DurableExecutionArn"
        ]
        deadline = time.monotonic() + 20
        callback_id = None
        while callback_id is None:
            assert time.monotonic() < deadline, "no CallbackStarted event"
            events = served.client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
            started = [e for e in events if e["EventType"] == "CallbackStarted"]
            if started:
                callback_id = started[0]["CallbackStartedDetails"]["CallbackId"]
            else:
                time.sleep(0.05)
        sent = run_cli("callback", "succeed", callback_id, "--db", db, "--result", '"yes"', cwd=tmp_path)
        assert sent.returncode == 0, sent.stderr
        while (execution := served.client.get_durable_execution(DurableExecutionArn=arn))[
            "Status"
        ] == "RUNNING":
            assert time.monotonic() < deadline, "the execution did not resume"
            time.sleep(0.05)
        assert execution["Status"] == "SUCCEEDED" and json.loads(execution["Result"]) == {"answer": '"yes"'}
        assert served.stop()[0] == 0


def test_list_and_history_read_from_the_server_with_endpoint(tmp_path: Path):
    with serve("--memory", "--skip-time", "--function", f"order={ORDER}", cwd=tmp_path) as served:
        arn = served.client.invoke(
            FunctionName="order", Payload=json.dumps(ORDER_INPUT).encode(), DurableExecutionName="seen"
        )["DurableExecutionArn"]
        listing = run_cli("list", "--endpoint", served.url, "--function", "order", "--json", cwd=tmp_path)
        assert listing.returncode == 0, listing.stderr
        rows = json.loads(listing.stdout)["DurableExecutions"]
        assert [(r["DurableExecutionArn"], r["Status"]) for r in rows] == [(arn, "SUCCEEDED")]
        table = run_cli("history", arn, "--endpoint", served.url, cwd=tmp_path)
        assert table.returncode == 0 and "WaitSucceeded" in table.stdout and "cool_off" in table.stdout
        events = json.loads(run_cli("history", arn, "--endpoint", served.url, "--json", cwd=tmp_path).stdout)
        assert events["Events"][-1]["EventType"] == "ExecutionSucceeded"
        for args, message in [
            (("list", "--endpoint", served.url), "--endpoint needs --function"),
            (("history", arn + "x", "--endpoint", served.url), "no execution"),
            (("history", arn, "--endpoint", served.url, "--db", "x.db"), "exclusive"),
        ]:
            done = run_cli(*args, cwd=tmp_path)
            assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        assert served.stop()[0] == 0
    gone = run_cli("history", arn, "--endpoint", served.url, cwd=tmp_path)
    assert gone.returncode == 2 and "cannot reach" in gone.stderr and "Traceback" not in gone.stderr


def test_the_cli_signs_its_endpoint_requests_for_a_server_beyond_loopback(tmp_path: Path):
    keys = {"PERDURE_ACCESS_KEY_ID": "AKIDCLI", "PERDURE_SECRET_ACCESS_KEY": "cli/secret+1"}
    key_options = ("--access-key-id", keys["PERDURE_ACCESS_KEY_ID"], "--secret-access-key")
    options = ("--host", "0.0.0.0", *key_options, keys["PERDURE_SECRET_ACCESS_KEY"])
    with serve("--memory", "--skip-time", "--function", f"order={ORDER}", *options, cwd=tmp_path) as served:
        announced = [served.lines.get(timeout=10) for _ in range(3)]
        # Bound to every interface: the console's address to open is the loopback one.
        assert any(line.strip().startswith("console http://127.0.0.1:") for line in announced), announced
        client = HttpServiceClient(served.url, credentials=Credentials(*keys.values()))
        arn = client.invoke(
            InvokeRequest(function_name="order", payload=json.dumps(ORDER_INPUT).encode())
        ).durable_execution_arn
        assert arn is not None
        for env in (keys, {"AWS_ACCESS_KEY_ID": "AKIDCLI", "AWS_SECRET_ACCESS_KEY": "cli/secret+1"}):
            listing = run_cli(
                "list", "--endpoint", served.url, "--function", "order", "--json", cwd=tmp_path, env=env
            )
            assert listing.returncode == 0, listing.stderr
            assert [r["DurableExecutionArn"] for r in json.loads(listing.stdout)["DurableExecutions"]] == [
                arn
            ]
        history = run_cli(
            "history", arn, "--endpoint", served.url, *key_options, "cli/secret+1", cwd=tmp_path
        )
        assert history.returncode == 0 and "ExecutionSucceeded" in history.stdout, history.stderr
        # signed and let through: the engine itself answers that it never issued this id
        heartbeat = run_cli(
            "callback", "heartbeat", "bm9uZQ==", "--endpoint", served.url, cwd=tmp_path, env=keys
        )
        assert heartbeat.returncode == 2 and "not a callback id this service issued" in heartbeat.stderr, (
            heartbeat.stderr
        )
        unsigned = {
            "PERDURE_ACCESS_KEY_ID": "",
            "PERDURE_SECRET_ACCESS_KEY": "",
            "AWS_ACCESS_KEY_ID": "",
            "AWS_SECRET_ACCESS_KEY": "",
        }
        for args, env, message in [
            (
                (*key_options, "wrong"),
                {},
                "InvalidSignatureError: The request signature we calculated does not match the signature"
                " you provided. Check your AWS Secret Access Key and signing method. (signed with access key AKIDCLI)",
            ),
            (
                (),
                {**unsigned, "AWS_ACCESS_KEY_ID": "AKIDOTHER", "AWS_SECRET_ACCESS_KEY": "s"},
                "UnrecognizedClientError",
            ),
            (
                (),
                unsigned,
                "MissingAuthenticationTokenError: Missing Authentication Token (the request was not signed",
            ),
            (("--access-key-id", "AKIDCLI"), unsigned, "--secret-access-key is missing"),
        ]:
            done = run_cli("history", arn, "--endpoint", served.url, *args, cwd=tmp_path, env=env)
            assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, (
                done.stderr
            )
        assert served.stop()[0] == 0
