"""`perdure console --db PATH` as a process: the console for a file no server runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from perdure.engine import Engine
from perdure.link.inprocess import InProcessInvocable
from tests.e2e.helpers import perdure_command, run_cli

from . import flows

pytestmark = pytest.mark.timeout(90)


def test_console_reads_a_database_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "file.db"
    with Engine.open(db, skip_time=True) as engine:
        engine.register_function("approval", InProcessInvocable(flows.approval, engine.service))
        arn = engine.start_execution("approval", "{}", "waiting-1")
        engine.run_until_idle()
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        perdure_command("console", "--db", str(db), "--port", "0"),
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("perdure console: open http://127.0.0.1:"), first
        url = first.split()[-1].rstrip("/")
        with urllib.request.urlopen(url + "/console/api/executions") as response:
            listed = json.load(response)
        assert [(x["arn"], x["status"]) for x in listed["executions"]] == [(arn, "RUNNING")]
        with urllib.request.urlopen(url + "/console/api/functions") as response:
            assert json.load(response) == {"registered": [], "all": ["approval"]}  # nothing runs here
        with urllib.request.urlopen(url + "/") as response:
            assert b"console.js" in response.read()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_console_beyond_loopback_needs_credentials_and_a_missing_file_is_an_error(tmp_path: Path) -> None:
    db = tmp_path / "file.db"
    Engine.open(db).close()
    refused = run_cli("console", "--db", str(db), "--host", "0.0.0.0", "--port", "0", cwd=tmp_path)
    assert refused.returncode == 2 and "--access-key-id" in refused.stderr
    missing = run_cli("console", "--db", str(tmp_path / "none.db"), "--port", "0", cwd=tmp_path)
    assert missing.returncode == 2 and "no database" in missing.stderr
