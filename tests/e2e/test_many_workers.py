"""Three `perdure serve` workers on one PostgreSQL database are one service, even while one of
them is SIGKILLed at random moments and restarted.

1,000 executions of tests/e2e/flows/many_workers.py (two steps, an at-most-once step, a step
that fails once and is retried, a map of three steps, a 1 s wait, a callback) are started
through boto3 against all three workers, and their callbacks answered through any of them,
while a worker chosen at random is SIGKILLed five times, each time once a random share of
the executions has reached its callback, and restarted. Then:
- every execution has SUCCEEDED with its exact result;
- no at-most-once step body ran twice for one attempt;
- every checkpoint the handler saw acknowledged is in the final history exactly once, and no
  operation has two SUCCEEDED events nor an attempt's START recorded twice.

Each execution takes at least five invocations and about 30 checkpoints, so 1,000 of them
are ~30,000 checkpoints: about a minute and a half of the 2-core machine the suite runs on,
which also runs PostgreSQL and the other half of the suite. `PERDURE_KILL_SEED` picks other
kill moments; `PERDURE_MANY_WORKERS` (default 3) and `PERDURE_MANY_EXECUTIONS` (default
1000) change the size.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests import postgres

from .helpers import FLOWS
from .serve_workers import WorkerGroup

pytestmark = pytest.mark.timeout(600)

WORKERS = int(os.environ.get("PERDURE_MANY_WORKERS", "3"))
EXECUTIONS = int(os.environ.get("PERDURE_MANY_EXECUTIONS", "1000"))
KILLS = 5
FUNCTION = f"many={FLOWS}/many_workers.py:handler"
FINISH_SECONDS = 300
"""How long the executions may take, from the first start to the last end."""


def expected(name: str, n: int) -> dict[str, Any]:
    """The result of the flow for `{"name": name, "n": n}`."""
    return {
        "double": 2 * n,
        "once": n + 1,
        "flaky": n + 2,
        "squares": [(n + i) ** 2 for i in range(3)],
        "approval": f"ok-{name}",
    }


@contextmanager
def own_database() -> Iterator[str]:
    """A database of this test's own on the test server, dropped afterwards (skips or fails
    as the other PostgreSQL tests do when there is no server)."""
    yield from postgres.session_database("workers")


@dataclass
class Log:
    """The flow's log file, read as it grows: callback ids to answer, and every line."""

    path: Path
    offset: int = 0
    lines: list[str] = field(default_factory=list)
    callbacks: dict[str, str] = field(default_factory=dict)  # callback id -> execution name

    def read_new(self) -> list[tuple[str, str]]:
        """The (callback id, execution name) pairs first seen since the last read."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as file:
            file.seek(self.offset)
            data = file.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line is written whole, but may be read half
        self.offset += len(complete)
        new = []
        for line in complete.decode().splitlines():
            self.lines.append(line)
            kind, name, *rest = line.split(" ")
            if kind == "callback" and rest[0] not in self.callbacks:
                self.callbacks[rest[0]] = name
                new.append((rest[0], name))
        return new


class Answerer(threading.Thread):
    """Answers every callback the flow hands out with `"ok-<execution name>"`, through the
    workers in turn, as an outside system would."""

    def __init__(self, group: WorkerGroup, log: Log) -> None:
        super().__init__(name="answerer", daemon=True)
        self.group, self.log = group, log
        self.answered: set[str] = set()  # execution names
        self.errors: list[str] = []
        self.done = threading.Event()

    def run(self) -> None:
        with ThreadPoolExecutor(4) as pool:
            while not self.done.is_set():
                new = self.log.read_new()
                for _ in pool.map(lambda pair: self.answer(*pair), new):
                    pass
                if not new:
                    time.sleep(0.05)

    def answer(self, callback_id: str, name: str) -> None:
        try:
            self.group.call(
                "send_durable_execution_callback_success",
                CallbackId=callback_id,
                Result=json.dumps(f"ok-{name}").encode(),
            )
        except ClientError as exc:
            # A request whose worker was killed after it committed is sent again to another:
            # that one finds the callback already completed. Any other error, a 5xx included
            # (a service must not answer one), fails the test.
            if "already closed (SUCCEEDED)" not in str(exc):
                self.errors.append(f"{name}: {exc}")
                return
        self.answered.add(name)


def start_all(group: WorkerGroup, abort: threading.Event) -> dict[str, str]:
    """Start every execution (Event invokes, named: a retried start finds the same one),
    spread over the workers, until `abort` is set; name -> ARN."""

    def start(number: int) -> tuple[str, str]:
        if abort.is_set():
            raise RuntimeError("the test failed before every execution was started")
        name = f"e{number}"
        response = group.call(
            "invoke",
            worker=number % WORKERS,
            FunctionName="many",
            InvocationType="Event",
            Payload=json.dumps({"name": name, "n": number}).encode(),
            DurableExecutionName=name,
        )
        assert response["StatusCode"] == 202, response
        return name, response["DurableExecutionArn"]

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(start, range(EXECUTIONS)))


def running(group: WorkerGroup) -> set[str]:
    names: set[str] = set()
    kwargs: dict[str, Any] = {"FunctionName": "many", "Statuses": ["RUNNING"], "MaxItems": 1000}
    while True:
        page = group.call("list_durable_executions_by_function", **kwargs)
        names.update(e["DurableExecutionName"] for e in page["DurableExecutions"])
        if not page.get("NextMarker"):
            return names
        kwargs["Marker"] = page["NextMarker"]


def history(group: WorkerGroup, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"DurableExecutionArn": arn, "MaxItems": 1000}
    while True:
        page = group.call("get_durable_execution_history", **kwargs)
        events += page["Events"]
        if not page.get("NextMarker"):
            return events
        kwargs["Marker"] = page["NextMarker"]


def kill_at_random_moments(
    group: WorkerGroup, answerer: Answerer, rng: random.Random, starting: Future[Any]
) -> list[str]:
    """SIGKILL a random worker `KILLS` times, each once a random share of the executions has
    reached its callback (so every kill lands while executions run), and restart it."""
    thresholds = sorted(rng.uniform(0.02, 0.8) * EXECUTIONS for _ in range(KILLS))
    kills = []
    deadline = time.monotonic() + FINISH_SECONDS
    for threshold in thresholds:
        while len(answerer.log.callbacks) < threshold and time.monotonic() < deadline:
            if starting.done() and starting.exception() is not None:
                return kills  # the failed start is the error to report
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.5))
        victim = group.workers[rng.randrange(len(group.workers))]
        victim.kill()
        kills.append(f"worker {victim.index} at {len(answerer.log.callbacks)} callbacks")
        time.sleep(rng.uniform(0.0, 1.0))
        victim.start()
    return kills


def stuck_report(group: WorkerGroup, arns: dict[str, str], names: set[str]) -> str:
    lines = [f"{len(names)} executions did not end: {sorted(names)[:20]}"]
    for name in sorted(names)[:5]:
        events = history(group, arns[name])
        lines.append(f"{name}: ... " + ", ".join(f"{e['EventType']}({e.get('Name')})" for e in events[-6:]))
    return "\n".join(lines) + "\n" + group.tails()


def check_history(name: str, events: list[dict[str, Any]], acks: set[tuple[str, str]], ran: set[int]) -> None:
    """The history of one execution against what its handler saw acknowledged (`acks`:
    event type and operation name) and the attempts its at-most-once step ran (`ran`)."""
    counts = Counter((e["EventType"], e.get("Name")) for e in events)
    for event_type, op_name in acks:
        assert counts[event_type, op_name] == 1, (
            f"{name}: {event_type} of {op_name!r}, acknowledged, is {counts[event_type, op_name]} times"
            " in the history"
        )
    by_operation: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event.get("Id") is not None:
            by_operation[event["Id"]].append(event["EventType"])
    for op_id, types in by_operation.items():
        succeeded = [t for t in types if t.endswith("Succeeded")]
        assert len(succeeded) <= 1, f"{name}: operation {op_id} succeeded {len(succeeded)} times: {types}"
        steps = [t for t in types if t.startswith("Step")]
        for before, after in pairwise(steps):
            assert (before, after) != ("StepStarted", "StepStarted"), (
                f"{name}: an attempt started twice: {types}"
            )
    once_starts = counts["StepStarted", "once"]
    assert all(attempt <= once_starts for attempt in ran), (
        f"{name}: the at-most-once step ran attempts {sorted(ran)} with {once_starts} starts recorded"
    )


def run_with_kills(group: WorkerGroup, log: Log) -> tuple[dict[str, str], list[str], float]:
    """Start every execution, answer every callback and kill workers until every execution
    has ended; the ARNs by name, the kills, the seconds it took."""
    rng = random.Random(int(os.environ.get("PERDURE_KILL_SEED", "7")))
    answerer = Answerer(group, log)
    answerer.start()
    began = time.monotonic()
    try:
        abort = threading.Event()
        with ThreadPoolExecutor(1) as starter:
            starting = starter.submit(start_all, group, abort)
            try:
                kills = kill_at_random_moments(group, answerer, rng, starting)
            except BaseException:
                abort.set()
                raise
            try:
                arns = starting.result(timeout=FINISH_SECONDS)
            except ClientError as exc:
                raise AssertionError(f"starting an execution failed: {exc}\n{group.tails()}") from exc
        left = running(group)
        while left and not answerer.errors and time.monotonic() - began < FINISH_SECONDS:
            time.sleep(0.5)
            left = running(group)
        assert not answerer.errors, (
            f"answering a callback failed: {answerer.errors[:5]}\n{stuck_report(group, arns, left)}"
        )
        assert not left, stuck_report(group, arns, left)
        return arns, kills, time.monotonic() - began
    finally:
        answerer.done.set()
        answerer.join(timeout=10)


def fetch(group: WorkerGroup, arns: dict[str, str]) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """Every execution (GetDurableExecution) and its history, by name."""
    names = list(arns)
    with ThreadPoolExecutor(6) as pool:
        executions = pool.map(
            lambda n: group.call("get_durable_execution", DurableExecutionArn=arns[n]), names
        )
        histories = pool.map(lambda n: history(group, arns[n]), names)
        return dict(zip(names, executions, strict=True)), dict(zip(names, histories, strict=True))


def test_three_workers_one_killed_five_times_complete_every_execution(tmp_path: Path) -> None:
    log = Log(tmp_path / "flow.log")
    with own_database() as db:
        workers = WorkerGroup(
            WORKERS, db, [FUNCTION], tmp_path / "workers", env={"MANY_WORKERS_LOG": str(log.path)}
        )
        with workers as group:
            arns, kills, took = run_with_kills(group, log)
            executions, histories = fetch(group, arns)
            codes = group.stop()
            assert codes == [0] * WORKERS, f"exit statuses on SIGTERM: {codes}\n{group.tails()}"
    log.read_new()

    wrong = {
        name: (e["Status"], e.get("Result"), e.get("Error"))
        for name, e in executions.items()
        if e["Status"] != "SUCCEEDED" or json.loads(e["Result"]) != expected(name, int(name[1:]))
    }
    assert not wrong, f"{len(wrong)} executions ended otherwise: {list(wrong.items())[:5]}\n{workers.tails()}"

    runs = Counter(tuple(line.split()[1:]) for line in log.lines if line.startswith("run "))
    twice = [run for run, count in runs.items() if count > 1]
    assert not twice, f"an at-most-once step body ran twice for one attempt: {twice[:5]}"
    ran: dict[str, set[int]] = defaultdict(set)
    for name, _step, attempt in runs:
        ran[name].add(int(attempt))
    acks: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for line in log.lines:
        if line.startswith("ack "):
            _, name, event_type, op_name = line.split(" ", 3)
            acks[name].add((event_type, op_name))
    for name, events in histories.items():
        check_history(name, events, acks[name], ran[name])
    interrupted = sum(
        1
        for events in histories.values()
        for e in events
        if e["EventType"] == "InvocationCompleted" and "Error" in e.get("InvocationCompletedDetails", {})
    )
    assert interrupted, "no kill interrupted an invocation"
    print(
        f"{EXECUTIONS} executions on {WORKERS} workers in {took:.0f} s, {interrupted} invocations interrupted;"
    )
    print(f"kills: {kills}")
