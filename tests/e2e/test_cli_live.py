"""The live `perdure run` and what a new user meets first: names, follow, callbacks by name,
Ctrl-C and resume, --skip-time with a callback, --version (subprocesses)."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from .helpers import FLOWS, last_json, perdure_command, run_cli

LIVE = f"{FLOWS}/live_flows.py"


def _start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    environment = dict(os.environ)
    environment.pop("PERDURE_DB", None)
    return subprocess.Popen(
        perdure_command(*args),
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_until(process: subprocess.Popen[str], needle: str) -> list[str]:
    """The stdout lines of `process` up to the first that contains `needle`."""
    assert process.stdout is not None
    lines: list[str] = []
    while True:
        line = process.stdout.readline()
        assert line, (
            f"the run ended before printing {needle!r}: {lines} {process.stderr and process.stderr.read()}"
        )
        lines.append(line.rstrip("\n"))
        if needle in line:
            return lines


def test_run_prints_the_name_and_arn_first_then_a_line_per_operation(tmp_path: Path) -> None:
    done = run_cli("run", f"{LIVE}:slow", "--input", "5", "--name", "live-1", "--skip-time", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "name       live-1"
    assert lines[1].startswith("execution  arn:aws:lambda:") and "/live-1/" in lines[1]
    body = "\n".join(lines[2:])
    assert re.search(r"step\s+before\s+succeeded", body)
    assert re.search(r"wait\s+pause\s+waiting 5s", body)
    assert re.search(r"wait\s+pause\s+succeeded", body)
    assert body.index("before") < body.index("pause") < body.index("after")
    assert "status     SUCCEEDED" in body


def test_quiet_prints_no_operation_lines_and_json_keeps_stdout_one_document(tmp_path: Path) -> None:
    quiet = run_cli("run", f"{LIVE}:slow", "--input", "5", "--memory", "--skip-time", "-q", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert "waiting" not in quiet.stdout and "succeeded" not in quiet.stdout
    assert "status     SUCCEEDED" in quiet.stdout
    assert quiet.stdout.startswith("name ")
    done = run_cli("run", f"{LIVE}:slow", "--input", "5", "--memory", "--skip-time", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)  # the whole of stdout is one JSON document
    assert outcome["status"] == "SUCCEEDED" and outcome["result"] == "after the pause"
    assert "pause" in done.stderr and outcome["execution_arn"] in done.stderr


def test_executions_are_addressed_by_name_and_an_ambiguous_name_is_refused(tmp_path: Path) -> None:
    for target in ("quick", "quick_too"):
        done = run_cli("run", f"{LIVE}:{target}", "--name", f"{target}-1", "--skip-time", "-q", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        again = run_cli("run", f"{LIVE}:{target}", "--name", "shared", "--skip-time", "-q", cwd=tmp_path)
        assert again.returncode == 0, again.stderr
    shown = run_cli("history", "quick_too-1", "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    events = json.loads(shown.stdout)["Events"]
    assert events[-1]["EventType"] == "ExecutionSucceeded"
    assert json.loads(events[-1]["ExecutionSucceededDetails"]["Result"]["Payload"]) == "quick too"
    ambiguous = run_cli("history", "shared", cwd=tmp_path)
    assert ambiguous.returncode == 2
    assert "2 executions are named 'shared'" in ambiguous.stderr
    assert "live_flows-quick: arn:" in ambiguous.stderr and "live_flows-quick_too: arn:" in ambiguous.stderr
    assert ambiguous.stderr.count("arn:aws:lambda:") == 2
    missing = run_cli("history", "nobody", cwd=tmp_path)
    assert missing.returncode == 2 and "no execution named 'nobody'" in missing.stderr


def test_skip_time_waits_for_a_callback_sent_by_name_from_another_process(tmp_path: Path) -> None:
    # The ten-minute wait is skipped, but the callback's one-hour timeout is not: the
    # virtual clock follows real time while the callback is open.
    run = _start("run", f"{LIVE}:approval", "--name", "order-42", "--skip-time", cwd=tmp_path)
    try:
        lines = _read_until(run, "answer it:")
        started = next(line for line in lines if "approval" in line and "waiting, id " in line)
        callback_id = started.split("waiting, id ")[1]
        assert "perdure callback succeed --execution order-42 --callback approval" in lines[-1]
        shown = run_cli("history", "order-42", cwd=tmp_path)
        assert shown.returncode == 0 and f"CallbackId={callback_id}" in shown.stdout  # the whole id
        sent = run_cli(
            "callback", "succeed", "--execution", "order-42", "--callback", "approval", "--result", '"yes"',
            cwd=tmp_path,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err
    assert re.search(r"callback\s+approval\s+succeeded", out)
    assert "status     SUCCEEDED" in out and '"answer": "\\"yes\\""' in out


def test_skip_time_waits_for_a_callback_an_invoked_execution_waits_for(tmp_path: Path) -> None:
    run = _start(
        "run", f"{LIVE}:asks_through_a_child", "--function", f"asker={LIVE}:asks", "--skip-time", cwd=tmp_path
    )
    try:
        lines = _read_until(run, "waiting for execution")
        child = lines[-1].split("waiting for execution ")[1].split()[0]
        assert re.search(r"invoke\s+ask\s+waiting for execution", lines[-1])
        sent = run_cli("callback", "succeed", "--execution", child, "--result", '"through"', cwd=tmp_path)
        assert sent.returncode == 0, sent.stderr
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err
    assert re.search(r"invoke\s+ask\s+succeeded", out) and "status     SUCCEEDED" in out


def test_callback_by_name_errors_name_what_exists(tmp_path: Path) -> None:
    done = run_cli("run", f"{LIVE}:quick", "--name", "q", "--skip-time", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    sent = run_cli("callback", "succeed", "--execution", "q", "--callback", "approval", cwd=tmp_path)
    assert sent.returncode == 2 and "has no callback named 'approval'" in sent.stderr
    neither = run_cli("callback", "succeed", cwd=tmp_path)
    assert neither.returncode == 2 and "give either CALLBACK_ID or --execution" in neither.stderr


def test_ctrl_c_in_a_terminal_stops_process_workers_without_a_traceback(tmp_path: Path) -> None:
    environment = dict(os.environ)
    environment.pop("PERDURE_DB", None)
    run = subprocess.Popen(
        perdure_command("run", f"{LIVE}:slow", "--input", "3600", "--isolation", "process"),
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _read_until(run, "waiting 3600s")
        os.killpg(run.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
        _out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "resume it with:" in err


def test_ctrl_c_then_resume_by_the_printed_name(tmp_path: Path) -> None:
    run = _start("run", f"{LIVE}:slow", "--input", "3600", cwd=tmp_path)
    try:
        lines = _read_until(run, "waiting 3600s")
        name = lines[0].split()[1]
        run.send_signal(signal.SIGINT)
        _out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, err
    assert "Traceback" not in err
    hint = err.split("resume it with:", 1)[1].splitlines()[0]
    assert shlex.split(hint) == ["perdure", "run", f"{LIVE}:slow", "--name", name, "--input", "3600"]
    resumed = run_cli(
        "run", f"{LIVE}:slow", "--name", name, "--input", "3600", "--skip-time", "--json", cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr
    outcome = last_json(resumed.stdout)
    assert outcome["status"] == "SUCCEEDED" and outcome["name"] == name
    listed = json.loads(run_cli("list", "--json", cwd=tmp_path).stdout)["DurableExecutions"]
    assert [e["DurableExecutionName"] for e in listed] == [name]  # resumed, not started again
    events = json.loads(run_cli("history", name, "--json", cwd=tmp_path).stdout)["Events"]
    assert [e["Name"] for e in events if e["EventType"] == "StepSucceeded"] == ["before", "after"]


def test_history_follow_prints_new_events_until_the_execution_ends(tmp_path: Path) -> None:
    run = _start("run", f"{LIVE}:asks", "--name", "followed", cwd=tmp_path)
    follow: subprocess.Popen[str] | None = None
    try:
        _read_until(run, "answer it:")
        follow = _start("history", "followed", "--follow", cwd=tmp_path)
        before = _read_until(follow, "CallbackStarted")  # the history so far, then it waits
        sent = run_cli("callback", "succeed", "--execution", "followed", "--result", '"fine"', cwd=tmp_path)
        assert sent.returncode == 0, sent.stderr
        after, err = follow.communicate(timeout=60)  # it returns once the execution has ended
        run.communicate(timeout=60)
    finally:
        for process in (run, follow):
            if process is not None and process.poll() is None:
                process.kill()
    assert follow.returncode == 0, err
    assert not any("CallbackSucceeded" in line for line in before)
    lines = after.splitlines()
    assert any("CallbackSucceeded" in line and "ok" in line for line in lines)
    assert "ExecutionSucceeded" in lines[-1]
    # The lines printed before the wait and after it share their columns.
    event_column = before[0].index("EVENT")
    for line in [line for line in before + lines if line[:1].isdigit()]:
        assert line[event_column - 2 : event_column] == "  " and line[event_column] != " ", line


def test_map_progress_is_not_one_line_per_item(tmp_path: Path) -> None:
    done = run_cli("run", f"{LIVE}:mapped", "--input", "200", "--memory", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "map-item" not in done.stdout
    assert re.search(r"context\s+items\s+succeeded \(200 items\)", done.stdout)
    assert len(done.stdout.splitlines()) < 20


def test_a_long_map_shows_items_done_out_of_its_total(tmp_path: Path) -> None:
    done = run_cli("run", f"{LIVE}:slow_map", "--input", "120", "--memory", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = re.findall(r"map\s+items  (\d+)/120 items done", done.stdout)
    assert shown and all(0 < int(n) <= 120 for n in shown), done.stdout
    assert re.search(r"context\s+items\s+succeeded \(120 items\)", done.stdout)
    # In a worker process the handler is not observed: items done, and started so far (its
    # items' checkpoints are batched there, so the map needs longer to show a line).
    isolated = run_cli(
        "run", f"{LIVE}:slow_map", "--input", "240", "--memory", "--isolation", "process", cwd=tmp_path
    )
    assert isolated.returncode == 0, isolated.stderr
    assert re.search(r"map\s+items  \d+ items done, \d+ started", isolated.stdout), isolated.stdout
    assert "/240" not in isolated.stdout


def test_version_and_python_dash_m(tmp_path: Path) -> None:
    version = run_cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and re.fullmatch(r"perdure \d+\.\d+\.\d+\S*\n", version.stdout)
    module = subprocess.run(
        [sys.executable, "-m", "perdure", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert module.returncode == 0 and module.stdout == version.stdout


def test_help_says_what_skip_time_does_to_callbacks(tmp_path: Path) -> None:
    shown = run_cli("run", "--help", cwd=tmp_path)
    text = " ".join(shown.stdout.split())
    assert "While a callback is open the clock follows real time" in text
    assert "`perdure callback`" in text


def test_a_handler_without_the_decorator_gets_a_warning_naming_it(tmp_path: Path) -> None:
    done = run_cli(
        "run", f"{FLOWS}/plain_handler.py:handler", "--input", "2", "--memory", "--json", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert last_json(done.stdout)["result"] == 6
    assert "is not decorated with @durable_execution" in done.stderr
    assert "fails on AWS Lambda" in done.stderr
    decorated = run_cli("run", f"{LIVE}:quick", "--memory", cwd=tmp_path)
    assert "warning" not in decorated.stderr
    isolated = run_cli(
        "run", f"{FLOWS}/plain_handler.py:handler", "--input", "2", "--memory", "--isolation", "process",
        cwd=tmp_path,
    )  # fmt: skip
    assert isolated.returncode == 0, isolated.stderr
    assert "is not decorated with @durable_execution" in isolated.stderr
    decorated = run_cli("run", f"{LIVE}:quick", "--memory", "--isolation", "process", cwd=tmp_path)
    assert decorated.returncode == 0 and "warning" not in decorated.stderr


LOGGING_FLOW = """
import logging
import httpx  # a library with INFO lines of its own
from perdure import durable_execution

@durable_execution
def handler(event, context):
    logging.getLogger("httpx").info("HTTP Request: GET http://example 200")
    logging.getLogger("httpx").warning("httpx warned")
    logging.getLogger(__name__).info("the user's module said")
    context.logger.info("the handler said")
    return "ok"
"""


def test_run_shows_the_handler_s_info_lines_but_only_a_library_s_warnings(tmp_path: Path) -> None:
    (tmp_path / "logged.py").write_text(LOGGING_FLOW)
    for isolation in ("inprocess", "process"):
        done = run_cli("run", "logged.py:handler", "--memory", "--isolation", isolation, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "HTTP Request" not in done.stderr, isolation
        assert "httpx warned" in done.stderr and "the user's module said" in done.stderr
        assert "the handler said" in done.stderr
    # The user's own configuration, made as the module loads, wins.
    (tmp_path / "configured.py").write_text(
        "import logging\nlogging.basicConfig(level=logging.DEBUG, format='MINE %(name)s %(message)s')\n"
        + LOGGING_FLOW
    )
    done = run_cli("run", "configured.py:handler", "--memory", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "MINE httpx HTTP Request" in done.stderr and "MINE root the handler said" in done.stderr
