"""Several `perdure serve` processes on one PostgreSQL database are one service: a worker
stopped with SIGTERM hands its running execution over at once, one killed with SIGKILL has
it resumed by another within the lease bound, a worker without the function answers a
synchronous invoke that another runs, and `--skip-time` is refused beside a live worker. (Two engines in one process: tests/engine/test_workers.py.)"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from .helpers import FLOWS, run_cli
from .test_http_serve_cli import Served, serve

pytestmark = pytest.mark.timeout(120)

WORK = f"work={FLOWS}/worker_flows.py:handler"


@contextmanager
def _workers(pg_url: str, tmp_path: Path, count: int, lease_ttl: float) -> Iterator[list[Served]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                serve("--db", pg_url, "--function", WORK, "--lease-ttl", str(lease_ttl), cwd=tmp_path)
            )
            for _ in range(count)
        ]


def _trace(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _until(check: object, timeout: float) -> float:
    """Seconds until `check()` holds (fails past `timeout`)."""
    began = time.monotonic()
    while not check():  # type: ignore[operator]
        assert time.monotonic() - began < timeout, "timed out"
        time.sleep(0.05)
    return time.monotonic() - began


def _hand_over(pg_url: str, tmp_path: Path, signum: int, lease_ttl: float) -> tuple[float, dict[str, object]]:
    """Start an execution on one worker, stop that worker with `signum` while its step runs,
    and return how long the other took to run the step again, and the execution's end."""
    hold, trace = tmp_path / "hold", tmp_path / "trace"
    hold.touch()
    with _workers(pg_url, tmp_path, 1, lease_ttl) as (first,):
        event = {"hold": str(hold), "trace": str(trace)}
        arn = first.client.invoke(
            FunctionName="work", InvocationType="Event", Payload=json.dumps(event).encode()
        )["DurableExecutionArn"]
        _until(lambda: _trace(trace) == [first.process.pid], 30)
        with _workers(pg_url, tmp_path, 1, lease_ttl) as (second,):
            first.process.send_signal(signum)
            taken = _until(lambda: len(_trace(trace)) == 2, 60)
            hold.unlink()
            _until(
                lambda: second.client.get_durable_execution(DurableExecutionArn=arn)["Status"] != "RUNNING",
                30,
            )
            assert _trace(trace) == [first.process.pid, second.process.pid]
            ended = second.client.get_durable_execution(DurableExecutionArn=arn)
            assert first.process.wait(30) in (0, -signal.SIGKILL)
    return taken, ended


def test_a_worker_stopped_with_sigterm_hands_its_execution_over_at_once(pg_url: str, tmp_path: Path) -> None:
    lease_ttl = 60.0
    taken, ended = _hand_over(pg_url, tmp_path, signal.SIGTERM, lease_ttl)
    assert taken < 10, f"the other worker waited {taken:.1f} s: the lease was not released"
    assert ended["Status"] == "SUCCEEDED"


def test_a_killed_workers_execution_resumes_on_another_within_the_lease_bound(
    pg_url: str, tmp_path: Path
) -> None:
    lease_ttl = 2.0
    taken, ended = _hand_over(pg_url, tmp_path, signal.SIGKILL, lease_ttl)
    # Expiry (one TTL) plus a renewal period (TTL / 3) when the other worker looks, plus slack
    # for a loaded machine.
    assert taken < lease_ttl * 4 / 3 + 5, f"resumed after {taken:.1f} s"
    assert ended["Status"] == "SUCCEEDED"


def test_any_worker_answers_for_an_execution_another_worker_runs(pg_url: str, tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    with (
        serve("--db", pg_url, "--function", WORK, cwd=tmp_path) as runner,
        serve("--db", pg_url, cwd=tmp_path) as front,  # no functions of its own
    ):
        event = {"hold": str(tmp_path / "no-hold"), "trace": str(trace)}
        answer = front.client.invoke(FunctionName="work", Payload=json.dumps(event).encode())
        assert answer["StatusCode"] == 200 and "FunctionError" not in answer
        assert json.loads(answer["Payload"].read()) == runner.process.pid
        arn = answer["DurableExecutionArn"]
        history = front.client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
        assert [e["EventType"] for e in history][-1] == "ExecutionSucceeded"


def test_skip_time_is_refused_beside_a_live_worker(pg_url: str, tmp_path: Path) -> None:
    with _workers(pg_url, tmp_path, 1, 10.0):
        refused = run_cli(
            "serve", "--port", "0", "--db", pg_url, "--skip-time", "--function", WORK, cwd=tmp_path
        )
    assert refused.returncode != 0
    assert "--skip-time is refused: 1 other worker(s) serve this database" in refused.stderr


def test_run_with_skip_time_beside_a_live_worker_is_refused_before_starting_anything(
    pg_url: str, tmp_path: Path
) -> None:
    with _workers(pg_url, tmp_path, 1, 10.0) as (live,):
        refused = run_cli(
            "run", f"{FLOWS}/worker_flows.py:handler", "--db", pg_url, "--skip-time", cwd=tmp_path
        )
        listed = live.client.list_durable_executions_by_function(FunctionName="worker_flows-handler")
    assert refused.returncode != 0 and "--skip-time is refused" in refused.stderr
    assert "execution " not in refused.stdout and listed["DurableExecutions"] == []


def test_a_mistyped_database_url_is_refused_not_made_a_file(tmp_path: Path) -> None:
    refused = run_cli("serve", "--port", "0", "--db", "postgresq://postgres@127.0.0.1/x", cwd=tmp_path)
    assert refused.returncode == 2
    assert "--db 'postgresq://postgres@127.0.0.1/x' is a postgresq:// URL" in refused.stderr
    assert list(tmp_path.iterdir()) == []


def test_worker_options_need_a_shared_database(tmp_path: Path) -> None:
    refused = run_cli(
        "serve", "--port", "0", "--db", str(tmp_path / "one.db"), "--worker-id", "w1", cwd=tmp_path
    )
    assert refused.returncode == 2
    assert "--worker-id applies to workers sharing a PostgreSQL --db" in refused.stderr


def test_the_number_of_invocations_at_once_must_be_positive(tmp_path: Path) -> None:
    refused = run_cli("serve", "--port", "0", "--memory", "--invocations", "0", cwd=tmp_path)
    assert refused.returncode == 2 and "--invocations must be >= 1" in refused.stderr


def test_a_worker_id_with_a_hash_is_refused(pg_url: str, tmp_path: Path) -> None:
    refused = run_cli("serve", "--port", "0", "--db", pg_url, "--worker-id", "a#b", cwd=tmp_path)
    assert (
        refused.returncode == 2
        and "worker id 'a#b': a worker id is not empty and has no '#'" in refused.stderr
    )
