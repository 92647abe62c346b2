"""`python -m perdure.link.lambda_host` writes a handler's log records to stderr, as the
Lambda runtime does: level, time, request id and message, tab-separated."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

HANDLER = """
import logging

def handler(event, context):
    logging.getLogger().info("handling %s", event["n"])
    logging.getLogger("app").warning("careful")
    logging.getLogger().debug("not shown")
    return event["n"]
"""


@contextmanager
def _hosted(tmp_path: Path, source: str) -> Iterator[tuple[str, list[str]]]:
    """`python -m perdure.link.lambda_host` serving `source`'s `handler` as `fn`: its URL,
    and a list that holds the host's stderr once the block has ended."""
    (tmp_path / "fn.py").write_text(source, encoding="utf-8")
    host = subprocess.Popen(
        [sys.executable, "-m", "perdure.link.lambda_host", "--port", "0", f"fn={tmp_path / 'fn.py'}:handler"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr: list[str] = []
    try:
        assert host.stdout is not None
        yield host.stdout.readline().split()[-1], stderr
    finally:
        host.terminate()
        stderr.append(host.communicate(timeout=30)[1])


def _invoke(url: str, event: dict[str, object], request_id: str, timeout: float = 30) -> bytes:
    request = urllib.request.Request(
        f"{url}/2015-03-31/functions/fn/invocations",
        data=json.dumps(event).encode(),
        headers={"X-Amz-Request-Id": request_id},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return bytes(response.read())


def test_handler_logs_go_to_stderr(tmp_path: Path) -> None:
    with _hosted(tmp_path, HANDLER) as (url, stderr):
        assert json.loads(_invoke(url, {"n": 7}, "req-1")) == 7
    lines = [line.split("\t") for line in stderr[0].splitlines() if line.startswith("[")]
    assert [(f[0], f[2], f[3]) for f in lines] == [
        ("[INFO]", "req-1", "handling 7"),
        ("[WARNING]", "req-1", "careful"),
    ]
    assert lines[0][1].endswith("Z")


FAILING = """
import time

def handler(event, context):
    if event["slow"]:
        time.sleep(1.0)
        return "late"
    raise ValueError("no stock for " + event["sku"])
"""


def test_a_handler_error_is_logged_and_a_caller_gone_is_one_line(tmp_path: Path) -> None:
    with _hosted(tmp_path, FAILING) as (url, stderr):
        assert json.loads(_invoke(url, {"slow": False, "sku": "lamp"}, "req-2"))["errorType"] == "ValueError"
        with pytest.raises(TimeoutError):
            _invoke(url, {"slow": True}, "req-3", timeout=0.2)  # gone before the answer
        time.sleep(1.5)
    err = stderr[0]
    assert "[ERROR]" in err and "req-2\tValueError: no stock for lamp" in err and "Traceback" in err
    assert "req-3\tthe caller of fn went away before its answer" in err and "BrokenPipeError" not in err, err


def test_the_host_refuses_to_start_without_boto3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from perdure.link import lambda_host

    real = lambda_host.importlib.util.find_spec
    monkeypatch.setattr(
        lambda_host.importlib.util, "find_spec", lambda name, *a: None if name == "boto3" else real(name, *a)
    )
    assert lambda_host.main(["--port", "0", "orders=shop.py:handler"]) == 2
    assert "boto3 is not installed in this environment" in capsys.readouterr().err
