"""Recovery after the process dies mid-invocation: the open invocation is closed with a
Runtime.ExitError-like error, due timers still fire, and the execution runs to its end.
Every test runs on both SQL stores (a SQLite file, a PostgreSQL schema)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
from engine.fakes import Child, Step, Wait, workflow

from perdure.engine import Engine
from perdure.engine.lifecycle import INTERRUPTED_MESSAGE
from perdure.engine.store import open_store
from perdure.engine.store.postgres import split_schema
from perdure.wire.codec import to_wire
from perdure.wire.types import EventType, ExecutionStatus, ListDurableExecutionsByFunctionRequest

ROOT = Path(__file__).resolve().parents[2]


def test_reopening_closes_an_interrupted_invocation(store_url: str | Path) -> None:
    ops: list[Step | Wait | Child] = [Step("a"), Wait("w", 10), Step("b")]
    engine = Engine.open(store_url, skip_time=True)
    engine.register_function("fn", workflow(engine, ops))
    arn = engine.start_execution("fn", None, "crashy")
    # Simulate a kill: the invocation begins (as the scheduler would), then the process vanishes.
    from perdure.engine import lifecycle

    with engine.store.transaction() as tx:
        begun = lifecycle.begin_invocation(tx, engine.clock.now(), arn, engine.scheduler.invoker_id)
    assert begun is not None
    engine.close()

    engine = Engine.open(store_url, skip_time=True)
    # On PostgreSQL the closing engine ended its lease and closed the invocation itself.
    assert engine.recovered == ([arn] if isinstance(store_url, Path) else [])
    engine.register_function("fn", workflow(engine, ops))
    assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED
    events = engine.history(arn)
    first_end = to_wire(events[1])
    assert first_end["EventType"] == "InvocationCompleted"
    assert first_end["InvocationCompletedDetails"]["Error"]["Payload"] == {
        "ErrorMessage": INTERRUPTED_MESSAGE,
        "ErrorType": "Runtime.ExitError",
    }
    assert events[-1].event_type is EventType.EXECUTION_SUCCEEDED
    engine.close()
    reopened = Engine.open(store_url)
    assert reopened.recovered == []
    reopened.close()


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {unit!r})
    from engine.fakes import Session, succeeded, start, succeed
    from perdure.engine import Engine

    # On PostgreSQL the killed worker's lease holds one lease TTL: the resumed run recovers
    # the invocation once it has expired.
    engine = Engine.open({db!r}, lease_ttl=1.0)

    def body(input, context):
        s = Session(engine, input)
        for i in range(50):
            if f"s{{i}}" in s.ops:
                continue
            s.cp(start(f"s{{i}}"), succeed(f"s{{i}}", str(i)))
            if i == {kill_at}:
                print("acked", i, flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
        return succeeded('"done"')

    engine.register_function("fn", body)
    arn = engine.start_execution("fn", None, "killed")
    print(engine.drive(arn).status.value, flush=True)
    """
)


def test_sigkill_mid_invocation_loses_no_acknowledged_checkpoint(store_url: str | Path) -> None:
    unit = str(ROOT / "tests" / "unit")
    script = CHILD.format(unit=unit, db=str(store_url), kill_at=17)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert "acked 17" in killed.stdout

    store = open_store(store_url)
    with store.transaction() as tx:
        (rec,) = tx.executions_with_open_invocation()
        ops = tx.list_operations(rec.key, -1, 1000)
    store.close()
    assert len(ops) == 1 + 18  # EXECUTION + every acknowledged step

    resumed = subprocess.run(
        [sys.executable, "-c", CHILD.format(unit=unit, db=str(store_url), kill_at=-1)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip().endswith("SUCCEEDED")
    engine = Engine.open(store_url)
    (arn,) = [
        e.durable_execution_arn
        for e in engine.service.list_durable_executions_by_function(
            ListDurableExecutionsByFunctionRequest("fn")
        ).durable_executions
    ]
    types = [e.event_type.value for e in engine.history(arn)]
    assert types.count("StepSucceeded") == 50
    assert types.count("InvocationCompleted") == 2
    engine.close()


def test_a_second_engine_spares_a_live_engines_invocation(store_url: str | Path) -> None:
    import threading

    from engine.fakes import PENDING, Recorder, Session

    first = Engine.open(store_url, skip_time=True)
    inside, release = threading.Event(), threading.Event()

    def body(s: Session) -> object:
        inside.set()
        release.wait(10)
        return PENDING

    first.register_function("fn", Recorder(first, body))  # type: ignore[arg-type]
    arn = first.start_execution("fn", None)
    worker = threading.Thread(target=first.scheduler.invoke_once, args=(arn,))
    worker.start()
    assert inside.wait(10)
    second = Engine.open(store_url, skip_time=True)
    assert second.recovered == []  # the first engine is alive: its invocation stays open
    release.set()
    worker.join(10)
    assert [e.event_type for e in second.history(arn)][-1] is EventType.INVOCATION_COMPLETED
    assert to_wire(second.history(arn)[-1])["InvocationCompletedDetails"].get("Error") is None
    second.close()
    first.close()


def test_an_invocation_of_a_dead_process_is_recovered(store_url: str | Path) -> None:
    from perdure.engine import lifecycle, recovery

    engine = Engine.open(store_url, skip_time=True)
    engine.register_function("fn", workflow(engine, [Step("a")]))
    arn = engine.start_execution("fn", None)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    invoker = f"{recovery._HOST}:{int(dead.stdout)}:gone"
    with engine.store.transaction() as tx:
        assert lifecycle.begin_invocation(tx, engine.clock.now(), arn, invoker) is not None
    if not isinstance(store_url, Path):
        # On PostgreSQL a lease, not a process id, says whether an invocation runs: the
        # dead process's lease expires.
        with psycopg.connect(split_schema(store_url)[0], autocommit=True) as conn:
            conn.execute(f'UPDATE "{split_schema(store_url)[1]}".leases SET expires_at = clock_timestamp()')
    assert not recovery.is_alive(invoker)
    assert recovery.is_alive(engine.scheduler.invoker_id)
    assert recovery.recover(engine.store, engine.clock) == [arn]
    assert engine.drive(arn).status is ExecutionStatus.SUCCEEDED
    engine.close()
