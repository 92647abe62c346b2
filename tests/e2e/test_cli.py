"""End to end through the `perdure` command line (subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from .helpers import FLOWS, last_json, perdure_command, run_cli

ORDER = f"{FLOWS}/order_flow.py:handler"
ORDER_INPUT = json.dumps({"order_id": "o-1001", "items": ["book", "lamp"]})


def test_run_json_prints_the_outcome_on_the_last_line(tmp_path: Path):
    done = run_cli("run", ORDER, "--input", ORDER_INPUT, "--memory", "--skip-time", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    outcome = last_json(done.stdout)
    assert outcome["status"] == "SUCCEEDED" and outcome["error"] is None
    assert outcome["result"]["tracking"] == "shipped-o-1001"
    assert outcome["invocations"] == 3
    assert outcome["execution_arn"].startswith("arn:aws:lambda:")


def test_run_readable_output_list_and_history(tmp_path: Path):
    done = run_cli("run", ORDER, "--input", ORDER_INPUT, "--skip-time", "--name", "order-1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "status     SUCCEEDED" in done.stdout
    assert (tmp_path / ".perdure" / "perdure.db").exists()
    listing = run_cli("list", cwd=tmp_path)
    assert listing.returncode == 0 and "order-1" in listing.stdout and "SUCCEEDED" in listing.stdout
    listed = json.loads(run_cli("list", "--json", cwd=tmp_path).stdout)["DurableExecutions"]
    arn = listed[0]["DurableExecutionArn"]
    table = run_cli("history", arn, cwd=tmp_path)
    assert table.returncode == 0
    assert (
        "ExecutionStarted" in table.stdout and "WaitSucceeded" in table.stdout and "cool_off" in table.stdout
    )
    events = json.loads(run_cli("history", arn, "--json", cwd=tmp_path).stdout)["Events"]
    assert events[0]["EventType"] == "ExecutionStarted" and events[-1]["EventType"] == "ExecutionSucceeded"


def test_same_name_other_input_is_refused(tmp_path: Path):
    args = ("run", ORDER, "--skip-time", "--name", "dup", "--json")
    assert run_cli(*args, "--input", ORDER_INPUT, cwd=tmp_path).returncode == 0
    again = run_cli(*args, "--input", ORDER_INPUT, cwd=tmp_path)
    assert again.returncode == 0 and last_json(again.stdout)["invocations"] == 3  # the same execution
    other = run_cli(*args, "--input", '{"order_id": "o-2"}', cwd=tmp_path)
    assert other.returncode == 2
    assert "already started" in other.stderr and "Traceback" not in other.stderr
    assert "`perdure history dup` shows it); to start another, give another --name" in other.stderr


def test_failed_execution_exits_non_zero(tmp_path: Path):
    done = run_cli(
        "run", ORDER, "--input", '{"items": []}', "--memory", "--skip-time", "--json", cwd=tmp_path
    )
    assert done.returncode == 1
    outcome = last_json(done.stdout)
    assert outcome["status"] == "FAILED" and outcome["error"]["ErrorType"] == "KeyError"


def test_errors_are_one_line_without_traceback(tmp_path: Path):
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-folder.db").mkdir()
    cases = [
        (("run", ORDER, "--db", "a-file/x.db"), "a-file is a file, not a folder"),
        (("run", ORDER, "--db", "a-folder.db"), "a-folder.db: it is a folder, not a file"),
        (("run", ORDER, "--db", "/proc/perdure/x.db"), "its folder /proc/perdure cannot be created"),
        (("list", "--endpoint", "127.0.0.1:9", "--function", "f"), "is not an http:// or https:// URL"),
        (("run", "nope.py:handler", "--memory"), "no such file"),
        (("run", "flows_missing_module:handler", "--memory"), "cannot import module"),
        (("run", "no-colon", "--memory"), "must be 'path/file.py:function'"),
        (("run", ORDER, "--memory", "--input", "{bad json"), "--input is not valid JSON"),
        (("run", f"{FLOWS}/order_flow.py:missing", "--memory"), "has no attribute"),
        (("history", "arn:nothing"), "no database"),
    ]
    for args, message in cases:
        done = run_cli(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_output_cut_short_by_its_reader_ends_quietly(tmp_path: Path):
    # `perdure run ... | head -1`: the pipe closes while the run still prints.
    with subprocess.Popen(
        perdure_command("run", ORDER, "--input", ORDER_INPUT, "--memory", "--skip-time"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as run:
        assert run.stdout is not None and run.stderr is not None
        run.stdout.readline()
        run.stdout.close()
        stderr = run.stderr.read()
        assert run.wait(timeout=60) in (0, 141), stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_corrupted_database_is_a_clear_error(tmp_path: Path):
    db = tmp_path / "broken.db"
    db.write_bytes(b"this is not a sqlite database" * 100)
    done = run_cli("run", ORDER, "--db", str(db), "--input", ORDER_INPUT, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and str(db) in done.stderr
    assert db.read_bytes() == b"this is not a sqlite database" * 100


def test_official_names_run_through_the_cli(tmp_path: Path):
    done = run_cli(
        "run",
        f"{FLOWS}/official_names.py:handler",
        "--input",
        '{"value": 4}',
        "--memory",
        "--skip-time",
        "--json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert last_json(done.stdout)["result"] == 9


def test_process_isolation_through_the_cli(tmp_path: Path):
    env = {"CRASH_ONCE_COUNTER": str(tmp_path / "runs")}
    done = run_cli(
        "run",
        f"{FLOWS}/crash_once.py:handler",
        "--input",
        '"cli"',
        "--memory",
        "--skip-time",
        "--isolation",
        "process",
        "--json",
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    outcome = last_json(done.stdout)
    assert outcome["result"] == "survived cli" and outcome["invocations"] == 2


def test_kill_and_resume_with_the_same_name(tmp_path: Path):
    trace = tmp_path / "trace.txt"
    env = {**os.environ, "ORDER_FLOW_TRACE": str(trace), "ORDER_FLOW_SLOW": "0.5"}
    env.pop("PERDURE_DB", None)
    args = perdure_command("run", ORDER, "--input", ORDER_INPUT, "--name", "crashy", "--skip-time", "--json")
    process = subprocess.Popen(
        args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "charge o-1001 attempt 1" not in (
        trace.read_text() if trace.exists() else ""
    ):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    resumed = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    outcome = last_json(resumed.stdout)
    assert outcome["status"] == "SUCCEEDED"
    assert outcome["result"]["tracking"] == "shipped-o-1001"
    lines = trace.read_text().splitlines()
    assert lines.count("reserve o-1001") == 1  # acknowledged before the kill: never run again
    assert lines.count("ship o-1001") == 1
    assert "charge o-1001 attempt 2" in lines
