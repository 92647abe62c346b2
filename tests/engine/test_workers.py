"""Several engines on one PostgreSQL database are one service: an execution is invoked by one
of them at a time, a worker whose lease expired can commit nothing more for it, a timer
fires once, an execution runs only where its function is registered (and is started, and waits, while no
live worker has it), virtual time is refused beside another worker, and a schema of an
earlier version is migrated (one newer than
this perdure is refused: tests/engine/test_postgres_store.py).

The same across `perdure serve` processes (SIGTERM, SIGKILL): tests/e2e/test_serve_workers.py.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
from engine.fakes import PENDING, Recorder, Session, Step, Wait, start, succeed, succeeded, workflow

from perdure.cli.commands import unserved_functions
from perdure.engine import Engine, StoreError, UnknownFunctionError
from perdure.engine.store import open_store
from perdure.engine.store.pg_schema import MIGRATIONS, SCHEMA_VERSION
from perdure.engine.store.postgres import PostgresStore, split_schema
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import EventType, ExecutionStatus, InvocationInput, InvocationOutput

TTL = 1.0
"""A short lease TTL, so a recovery takes about a second."""


def eventually(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _sql(url: str, statement: str) -> None:
    database, schema = split_schema(url)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute(statement)


@contextmanager
def _workers(url: str, count: int, **options: object) -> Iterator[list[Engine]]:
    engines = [Engine.open(url, lease_ttl=TTL, worker_id=f"w{i}", **options) for i in range(count)]  # type: ignore[arg-type]
    try:
        yield engines
    finally:
        for engine in engines:
            engine.close()


def _events(engine: Engine, arn: str) -> Counter[EventType]:
    return Counter(e.event_type for e in engine.history(arn))


def test_each_execution_is_invoked_by_one_worker_at_a_time(pg_url: str) -> None:
    running: set[str] = set()
    overlaps: list[str] = []
    lock = threading.Lock()

    with _workers(pg_url, 2) as engines:
        recorders = []
        for engine in engines:

            def body(s: Session, engine: Engine = engine) -> InvocationOutput:
                with lock:
                    if s.arn in running:
                        overlaps.append(s.arn)
                    running.add(s.arn)
                try:
                    for i in range(3):
                        if f"s{i}" not in s.ops:
                            s.cp(start(f"s{i}"), succeed(f"s{i}", str(i)))
                finally:
                    with lock:
                        running.discard(s.arn)
                return succeeded('"done"')

            recorder = Recorder(engine, body)
            engine.register_function("fn", recorder)  # type: ignore[arg-type]
            recorders.append(recorder)
        for engine in engines:
            engine.start()
        arns = [engines[i % 2].start_execution("fn", None, f"e{i}") for i in range(30)]
        for arn in arns:
            eventually(lambda arn=arn: engines[0].get_execution(arn).status is ExecutionStatus.SUCCEEDED)
        assert overlaps == []
        invoked = Counter(i.durable_execution_arn for r in recorders for i in r.inputs)
        assert invoked == Counter({arn: 1 for arn in arns})  # exactly one invocation each, anywhere
        for arn in arns:
            events = _events(engines[1], arn)
            assert events[EventType.STEP_SUCCEEDED] == 3
            assert events[EventType.INVOCATION_COMPLETED] == 1


def test_a_worker_whose_lease_expired_cannot_commit(pg_url: str) -> None:
    inside, release = threading.Event(), threading.Event()
    refused: list[BaseException] = []

    with _workers(pg_url, 2) as (paused, other):

        def stalled(s: Session) -> InvocationOutput:
            if s.input.initial_execution_state.operations[1:]:
                raise AssertionError("a step of the paused worker was applied")
            inside.set()
            release.wait(20)  # the worker pauses here
            try:
                s.cp(start("a"), succeed("a", '"paused"'))
            except InvalidParameterValueError as exc:
                refused.append(exc)
                raise
            return succeeded('"paused"')

        paused.register_function("fn", Recorder(paused, stalled))  # type: ignore[arg-type]
        arn = paused.start_execution("fn", None, "fenced")
        thread = threading.Thread(target=paused.scheduler.invoke_once, args=(arn,))
        thread.start()
        assert inside.wait(20)
        # The pause outlasts the lease: it expires (on the database's clock) unrenewed.
        _sql(pg_url, "UPDATE leases SET expires_at = clock_timestamp()")
        release.set()
        thread.join(20)
        assert refused and "lease" in str(refused[0]) and "expired" in str(refused[0])
        record = paused.service.execution_record(arn)
        assert record.operation_count == 0 and record.request_id is not None  # nothing applied or closed
        # Another worker recovers it (its end was not recorded by the paused one) and runs it.
        other.register_function("fn", workflow(other, [Step("a", '"resumed"')]))
        other.start()
        eventually(lambda: other.get_execution(arn).status is ExecutionStatus.SUCCEEDED)
        assert other.service.get_operation(arn, "a").step_details.result == '"resumed"'  # type: ignore[union-attr]
        completed = [e for e in other.history(arn) if e.event_type is EventType.INVOCATION_COMPLETED]
        assert len(completed) == 2
        assert completed[0].details.error is not None  # the paused one: closed as interrupted


def test_a_timer_fires_once_with_two_workers_polling(pg_url: str) -> None:
    with _workers(pg_url, 2) as engines:
        for engine in engines:
            engine.register_function("fn", workflow(engine, [Wait("w", 1), Step("after")]))
            engine.start()
        arns = [engines[i % 2].start_execution("fn", None, f"t{i}") for i in range(10)]
        for arn in arns:
            eventually(lambda arn=arn: engines[0].get_execution(arn).status is ExecutionStatus.SUCCEEDED)
            events = _events(engines[0], arn)
            assert events[EventType.WAIT_SUCCEEDED] == 1
            assert events[EventType.STEP_SUCCEEDED] == 1


def test_an_execution_runs_only_on_a_worker_that_has_its_function(pg_url: str) -> None:
    with _workers(pg_url, 2) as (first, second):
        ran: dict[str, list[str]] = {"first": [], "second": []}

        def recording(name: str, engine: Engine) -> Callable[[InvocationInput, object], InvocationOutput]:
            inner = workflow(engine, [Step("s")])

            def invocable(input: InvocationInput, context: object) -> InvocationOutput:
                ran[name].append(input.durable_execution_arn)
                return inner(input, context)  # type: ignore[arg-type]

            return invocable

        first.register_function("shared", recording("first", first))  # type: ignore[arg-type]
        first.register_function("only_first", recording("first", first))  # type: ignore[arg-type]
        second.register_function("shared", recording("second", second))  # type: ignore[arg-type]
        second.start()
        # Started on the worker that has it, while only the other one runs its loop: it waits.
        waiting = first.start_execution("only_first", None, "waits")
        time.sleep(0.5)
        assert first.get_execution(waiting).status is ExecutionStatus.RUNNING
        assert ran["second"] == []
        first.start()
        eventually(lambda: first.get_execution(waiting).status is ExecutionStatus.SUCCEEDED)
        assert ran == {"first": [waiting], "second": []}


def test_any_worker_starts_an_execution_that_another_worker_runs(pg_url: str) -> None:
    with _workers(pg_url, 2) as (front, back):
        back.register_function("backend", workflow(back, [Step("s")]))
        back.start()
        front.start()
        assert {w.worker_id: w.functions for w in front.live_workers() or []} == {
            "w0": (),
            "w1": ("backend",),
        }
        arn = front.start_execution("backend", None, "started-in-front")
        eventually(lambda: front.get_execution(arn).status is ExecutionStatus.SUCCEEDED)
        with pytest.raises(UnknownFunctionError, match="no durable function registered as 'nowhere'"):
            front.start_execution("nowhere", None)
        # While no live worker has it (its only worker restarts), a start is still accepted:
        # the execution waits, `perdure list` says so, and the restarted worker runs it.
        back.close()
        later = front.start_execution("backend", None, "later")
        time.sleep(0.3)
        assert front.get_execution(later).status is ExecutionStatus.RUNNING
        rows = [
            {"FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:backend", "Status": "RUNNING"}
        ]
        assert unserved_functions(rows, front.live_workers() or []) == {"backend": 1}
        restarted = Engine.open(pg_url, lease_ttl=TTL, worker_id="w1-restarted")
        try:
            restarted.register_function("backend", workflow(restarted, [Step("s")]))
            restarted.start()
            eventually(lambda: front.get_execution(later).status is ExecutionStatus.SUCCEEDED)
        finally:
            restarted.close()
        with pytest.raises(UnknownFunctionError, match="no durable function registered as 'nowhere'"):
            front.start_execution("nowhere", None)


def test_virtual_time_is_refused_beside_another_worker(pg_url: str) -> None:
    with _workers(pg_url, 1) as (serving,):
        serving.start()
        skipping = Engine.open(pg_url, skip_time=True)
        try:
            with pytest.raises(StoreError, match=r"--skip-time is refused: 1 other worker\(s\) serve"):
                skipping.start()
        finally:
            skipping.close()
    # Alone, it may: and then no other worker may join it.
    alone = Engine.open(pg_url, skip_time=True)
    try:
        alone.start()
        late = Engine.open(pg_url)
        try:
            with pytest.raises(StoreError, match=r"serves this database on virtual time"):
                late.start()
        finally:
            late.close()
    finally:
        alone.close()


def test_a_closing_worker_releases_its_leases_at_once(pg_url: str) -> None:
    inside, release = threading.Event(), threading.Event()
    with _workers(pg_url, 2) as (leaving, staying):

        def holding(s: Session) -> InvocationOutput:
            inside.set()
            release.wait(20)
            return PENDING

        leaving.register_function("fn", Recorder(leaving, holding))  # type: ignore[arg-type]
        arn = leaving.start_execution("fn", None, "handed-over")
        leaving.start()
        assert inside.wait(20)
        staying.register_function("fn", workflow(staying, [Step("s")]))
        staying.start()
        began = time.monotonic()
        closer = threading.Thread(target=leaving.close)
        closer.start()  # waits for the running invocation, but releases its lease first
        eventually(lambda: staying.get_execution(arn).status is ExecutionStatus.SUCCEEDED)
        assert time.monotonic() - began < TTL * 10
        release.set()
        closer.join(20)
        completed = [e for e in staying.history(arn) if e.event_type is EventType.INVOCATION_COMPLETED]
        assert len(completed) == 2 and completed[0].details.error is not None


def test_a_worker_restarted_under_the_same_id_runs_what_its_dead_process_left(pg_url: str) -> None:
    inside, release = threading.Event(), threading.Event()
    dead = Engine.open(pg_url, lease_ttl=60.0, worker_id="w0")  # its leases would stand a minute

    def holding(s: Session) -> InvocationOutput:
        inside.set()
        release.wait(20)
        return PENDING

    dead.register_function("fn", Recorder(dead, holding))  # type: ignore[arg-type]
    arn = dead.start_execution("fn", None, "left-behind")
    dead.join()
    thread = threading.Thread(target=dead.scheduler.invoke_once, args=(arn,))
    thread.start()
    try:
        assert inside.wait(20)
        dead._workers.stop_listening()  # type: ignore[union-attr]  # the process dies: nothing renews, nothing runs
        began = time.monotonic()
        with Engine.open(pg_url, lease_ttl=TTL, worker_id="w0") as restarted:
            restarted.register_function("fn", workflow(restarted, [Step("s")]))
            restarted.start()
            eventually(lambda: restarted.get_execution(arn).status is ExecutionStatus.SUCCEEDED)
            assert time.monotonic() - began < 10
    finally:
        release.set()
        thread.join(20)
        dead._joined = False  # type: ignore[attr-defined]  # a dead process leaves nothing
        dead.close()


def test_a_process_sharing_a_worker_id_does_not_end_the_others_leases_when_it_leaves(pg_url: str) -> None:
    inside, release = threading.Event(), threading.Event()
    first = Engine.open(pg_url, lease_ttl=TTL, worker_id="same")
    try:
        first.join()
        with Engine.open(pg_url, lease_ttl=TTL, worker_id="same") as second:

            def holding(s: Session) -> InvocationOutput:
                inside.set()
                release.wait(20)
                s.cp(start("a"), succeed("a", '"second"'))
                return succeeded('"second"')

            second.register_function("fn", Recorder(second, holding))  # type: ignore[arg-type]
            arn = second.start_execution("fn", None, "one-id-two-processes")
            second.start()
            assert inside.wait(20)
            first.close()  # leaves: ends its own leases, not the running invocation's of `second`
            release.set()
            eventually(lambda: second.get_execution(arn).status is ExecutionStatus.SUCCEEDED)
            assert _events(second, arn)[EventType.INVOCATION_COMPLETED] == 1  # never refused, never re-run
    finally:
        release.set()
        first.close()


def _store_at_version(pg_url: str, version: int, *statements: str) -> PostgresStore:
    database, schema = split_schema(pg_url)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'SET search_path TO "{schema}"')
        for migration in MIGRATIONS[:version]:
            conn.execute(migration)
        conn.execute(f"UPDATE schema_version SET version = {version}")
        for statement in statements:
            conn.execute(statement)
    store = open_store(pg_url)
    assert isinstance(store, PostgresStore)
    return store


def test_a_store_of_schema_version_1_gains_the_workers_tables(pg_url: str) -> None:
    store = _store_at_version(pg_url, 1)
    try:
        assert store.schema_version() == SCHEMA_VERSION == 3
        assert store.workers.live_workers() == []
        assert store.workers.known_functions() == set()
    finally:
        store.close()


def test_a_store_of_schema_version_2_knows_the_functions_registered_before(pg_url: str) -> None:
    """The functions of the workers registered and of the executions started before the
    upgrade count as registered: their starts are accepted while no worker is live."""
    store = _store_at_version(
        pg_url,
        2,
        "INSERT INTO workers VALUES ('old', '{billing,mail}', false, now(), now())",
    )
    try:
        assert store.workers.known_functions() == {"billing", "mail"}
    finally:
        store.close()
    with _workers(pg_url, 1) as (engine,):
        arn = engine.start_execution("mail", None, "queued")
        assert engine.get_execution(arn).status is ExecutionStatus.RUNNING
