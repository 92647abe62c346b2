"""Group commit on both SQL stores (a SQLite file, a PostgreSQL schema): transactions of threads that queue while one runs share
one commit, each returns only once that commit is done, a failed one changes nothing and
does not fail the others, and with group commit off every transaction commits alone.

The tests order the threads with events and the store's queue count, never with timing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from perdure.engine import Engine, StoreError, VirtualClock, lifecycle
from perdure.engine.store import StoreTx, open_store
from perdure.engine.store.group import GroupCommit

QUEUED = 4


@pytest.fixture
def engine(store_url: str | Path) -> Iterator[Engine]:
    eng = Engine(open_store(store_url), VirtualClock())
    eng.register_function("fn", lambda i, c: None)  # type: ignore[arg-type, return-value]
    yield eng
    eng.close()


def _start(engine: Engine, tx: StoreTx, name: str) -> None:
    function = engine.registry.resolve("fn")
    lifecycle.start_execution(tx, engine.clock.now(), function, '"in"', name)


def _names(engine: Engine) -> set[str]:
    with engine.store.transaction() as tx:
        return {tx.get_execution(arn).name for arn in _arns(tx)}  # type: ignore[union-attr]


def _arns(tx: StoreTx) -> list[str]:
    from perdure.engine.store import ExecutionQuery

    return [r.arn for r in tx.list_executions(ExecutionQuery(function_name="fn", limit=100))]


def _wait_until(condition: Callable[[], bool]) -> None:
    """Poll an ordering condition (not a duration: it only bounds a hung test)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the threads never reached the expected state"
        time.sleep(0.001)


def _queue_behind(engine: Engine, bodies: list[Callable[[StoreTx], None]]) -> list[BaseException | None]:
    """Run `bodies` on threads that all queue while the main thread's transaction is open,
    then let them in; the outcome of each (None: it returned)."""
    store = engine.store
    assert isinstance(store, GroupCommit)
    outcomes: list[BaseException | None] = [None] * len(bodies)

    def member(i: int) -> None:
        try:
            with store.transaction() as tx:
                bodies[i](tx)
        except BaseException as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=member, args=(i,)) for i in range(len(bodies))]
    with store.transaction() as tx:
        _start(engine, tx, "opener")
        for t in threads:
            t.start()
        _wait_until(lambda: store._entering == len(bodies))
    for t in threads:
        t.join()
    return outcomes


def _run_behind(engine: Engine, bodies: list[Callable[[StoreTx], None]]) -> list[BaseException | None]:
    """As `_queue_behind`, with `Store.run` calls: they queue behind the main thread's call,
    whose thread then runs their bodies in its group; the outcome of each."""
    store = engine.store
    assert isinstance(store, GroupCommit)
    outcomes: list[BaseException | None] = [None] * len(bodies)

    def member(i: int) -> None:
        try:
            store.run(bodies[i])
        except BaseException as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=member, args=(i,)) for i in range(len(bodies))]

    def opener(tx: StoreTx) -> None:
        _start(engine, tx, "opener")
        if threads[0].ident is None:  # not when run again (a lost lock conflict)
            for t in threads:
                t.start()
            _wait_until(lambda: len(store._calls) == len(bodies))

    store.run(opener)
    for t in threads:
        t.join()
    return outcomes


Queue = Callable[[Engine, list[Callable[[StoreTx], None]]], list[BaseException | None]]
QUEUES = pytest.mark.parametrize("queue", [_queue_behind, _run_behind], ids=["transaction", "run"])
"""Members that join a group: `transaction()` blocks, or `run` calls (whose bodies the
leading thread runs)."""


@QUEUES
def test_calls_queued_behind_one_share_its_commit(engine: Engine, queue: Queue) -> None:
    store = engine.store
    assert isinstance(store, GroupCommit)
    before = store.commits
    bodies = [lambda tx, i=i: _start(engine, tx, f"e{i}") for i in range(QUEUED)]
    assert queue(engine, bodies) == [None] * QUEUED
    assert store.commits == before + 1
    assert _names(engine) == {"opener", *(f"e{i}" for i in range(QUEUED))}


@QUEUES
def test_a_failed_member_changes_nothing_and_the_others_commit(engine: Engine, queue: Queue) -> None:
    """Members queued behind one: one refused before it writes, one that fails after
    writing, one the database refuses (a duplicate ARN; on PostgreSQL the refused statement
    aborts the transaction until the member's savepoint is rolled back). Each raises its own
    error and leaves nothing; the others commit, together."""
    store = engine.store
    assert isinstance(store, GroupCommit)
    before = store.commits

    def refused(tx: StoreTx) -> None:
        raise RuntimeError("refused")

    def failing(tx: StoreTx) -> None:
        _start(engine, tx, "failed")
        raise RuntimeError("failed")

    def duplicate(tx: StoreTx) -> None:
        function = engine.registry.resolve("fn")
        rec, _ = lifecycle.start_execution(tx, engine.clock.now(), function, '"in"', "dup")
        tx.insert_execution(replace(rec, key=0))

    bodies: list[Callable[[StoreTx], None]] = [lambda tx: _start(engine, tx, "a"), refused, failing]
    bodies += [lambda tx: _start(engine, tx, "b"), duplicate, lambda tx: _start(engine, tx, "c")]
    outcomes = queue(engine, bodies)
    assert [outcomes[i] for i in (0, 3, 5)] == [None, None, None]
    assert [str(outcomes[i]) for i in (1, 2)] == ["refused", "failed"]
    assert isinstance(outcomes[4], StoreError)  # the database refused it
    assert store.commits == before + 1
    assert _names(engine) == {"opener", "a", "b", "c"}


def test_a_run_inside_a_run_body_joins_its_transaction(engine: Engine) -> None:
    store = engine.store
    assert isinstance(store, GroupCommit)

    def inner_fails(tx: StoreTx) -> None:
        _start(engine, tx, "undone")
        raise RuntimeError("refused")

    def outer(tx: StoreTx) -> None:
        _start(engine, tx, "outer")
        store.run(lambda tx: _start(engine, tx, "inner"))
        with pytest.raises(RuntimeError):
            store.run(inner_fails)

    store.run(outer)
    assert _names(engine) == {"outer", "inner"}


def test_a_run_inside_a_transaction_block_joins_it_while_another_thread_waits_to_lead(
    engine: Engine,
) -> None:
    """The other thread leads the next group and waits for the connection the block holds:
    the block's own `run` must not queue behind it."""
    store = engine.store
    assert isinstance(store, GroupCommit)
    other = threading.Thread(target=store.run, args=(lambda tx: _start(engine, tx, "other"),))
    with store.transaction() as tx:
        _start(engine, tx, "block")
        other.start()
        _wait_until(lambda: store._leading)
        store.run(lambda tx: _start(engine, tx, "inner"))
    other.join(30)
    assert not other.is_alive()
    assert _names(engine) == {"block", "inner", "other"}


def test_a_run_inside_a_transaction_block_commits_with_the_block_or_not_at_all(engine: Engine) -> None:
    """No other thread leads: the inner `run` neither commits the block's transaction
    halfway nor waits for a commit only the block can make."""
    store = engine.store
    assert isinstance(store, GroupCommit)
    before = store.commits
    with pytest.raises(RuntimeError), store.transaction() as tx:
        _start(engine, tx, "before")
        store.run(lambda tx: _start(engine, tx, "inner"))
        assert store.commits == before
        raise RuntimeError("the block fails")
    assert _names(engine) == set()

    def other() -> None:
        with store.transaction() as tx:
            _start(engine, tx, "other")

    entering = threading.Thread(target=other)  # queues for the connection the block holds
    with store.transaction() as tx:
        _start(engine, tx, "block")
        entering.start()
        _wait_until(lambda: store._entering == 1)
        store.run(lambda tx: _start(engine, tx, "inner"))
    entering.join(30)
    assert not entering.is_alive()
    assert _names(engine) == {"block", "inner", "other"}


def test_a_transaction_block_inside_a_run_body_joins_its_transaction(engine: Engine) -> None:
    """With a call queued behind the leader, the block must not wait for the commit its own
    thread makes."""
    store = engine.store
    assert isinstance(store, GroupCommit)
    queued = threading.Thread(target=lambda: store.run(lambda tx: _start(engine, tx, "queued")))

    def body(tx: StoreTx) -> None:
        _start(engine, tx, "outer")
        queued.start()
        _wait_until(lambda: len(store._calls) == 1)
        with store.transaction() as inner:
            _start(engine, inner, "block")
        with pytest.raises(RuntimeError), store.transaction() as inner:
            _start(engine, inner, "undone")
            raise RuntimeError("the block fails alone")

    store.run(body)
    queued.join(30)
    assert not queued.is_alive()
    assert _names(engine) == {"outer", "block", "queued"}


def test_a_caller_interrupted_while_queued_leaves_the_others_served(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while a `run` waits behind the leader: its body never runs, and the callers
    queued after it are still served (the lead is not left with nobody)."""
    from _thread import allocate_lock

    from perdure.engine.store import group as group_module

    store = engine.store
    assert isinstance(store, GroupCommit)
    go = threading.Event()

    def leader_body(tx: StoreTx) -> None:
        _start(engine, tx, "leader")
        go.wait(30)

    class Interrupted:
        """A call's lock whose wait is interrupted (as by Ctrl-C)."""

        def __init__(self) -> None:
            self._lock, self._acquired = allocate_lock(), 0

        def acquire(self) -> bool:
            self._acquired += 1
            if self._acquired == 2:  # the first holds it, the second is the caller's wait
                raise KeyboardInterrupt
            return self._lock.acquire()

        def release(self) -> None:
            self._lock.release()

    leader = threading.Thread(target=store.run, args=(leader_body,))
    leader.start()
    _wait_until(lambda: store._leader is not None)
    monkeypatch.setattr(group_module, "allocate_lock", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.run(lambda tx: _start(engine, tx, "interrupted"))
    monkeypatch.undo()
    later = threading.Thread(target=store.run, args=(lambda tx: _start(engine, tx, "later"),))
    later.start()
    _wait_until(lambda: len(store._calls) == 1)
    go.set()
    for thread in (leader, later):
        thread.join(30)
        assert not thread.is_alive()
    assert not store._leading
    assert _names(engine) == {"leader", "later"}


def test_a_member_returns_only_after_the_group_commits(engine: Engine) -> None:
    """A member that finished its work waits while a later member of its group still runs."""
    store = engine.store
    assert isinstance(store, GroupCommit)
    returned: list[str] = []
    inside, release = threading.Event(), threading.Event()
    entered = []

    def body(tx: StoreTx, name: str) -> None:
        _start(engine, tx, name)
        entered.append(name)
        if len(entered) == QUEUED:  # the last member to run holds the group open
            inside.set()
            assert release.wait(30)

    def member(name: str) -> None:
        with store.transaction() as tx:
            body(tx, name)
        returned.append(name)

    threads = [threading.Thread(target=member, args=(f"m{i}",)) for i in range(QUEUED)]
    before = store.commits

    def opener() -> None:
        with store.transaction() as tx:
            _start(engine, tx, "opener")
            for t in threads:
                t.start()
            _wait_until(lambda: store._entering == QUEUED)
        returned.append("opener")

    first = threading.Thread(target=opener)
    first.start()
    assert inside.wait(30)
    assert returned == [] and store.commits == before  # finished members still wait
    release.set()
    for t in (first, *threads):
        t.join()
    assert sorted(returned) == sorted(["opener", *(f"m{i}" for i in range(QUEUED))])
    assert store.commits == before + 1


def test_group_commit_off_commits_every_transaction(store_url: str | Path) -> None:
    store = open_store(store_url, group_commit=False)
    assert isinstance(store, GroupCommit)
    engine = Engine(store, VirtualClock())
    engine.register_function("fn", lambda i, c: None)  # type: ignore[arg-type, return-value]
    try:
        before = store.commits
        threads = [
            threading.Thread(target=engine.start_execution, args=("fn", '"in"', f"e{i}"))
            for i in range(QUEUED)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store.commits == before + QUEUED
        assert _names(engine) == {f"e{i}" for i in range(QUEUED)}
    finally:
        engine.close()


def test_executions_run_concurrently_with_group_commit_survive_a_reopen(store_url: str | Path) -> None:
    """Many executions checkpointing at once, on the real clock: every one ends, and a new
    store on the file reads every result."""
    from perdure import durable_execution
    from perdure.link.inprocess import InProcessInvocable

    @durable_execution
    def handler(event: object, ctx: object) -> int:
        return sum(ctx.step(lambda _, i=i: i, name=f"s{i}") for i in range(5))  # type: ignore[attr-defined]

    with Engine(open_store(store_url), workers=8) as engine:
        engine.register_function("fn", InProcessInvocable(handler, engine.service))
        arns = [engine.start_execution("fn", "{}", f"e{i}") for i in range(16)]
        futures = [engine.when_finished(arn) for arn in arns]
        engine.start()
        assert {str(f.result(timeout=60).value) for f in futures} == {"SUCCEEDED"}
    with Engine(open_store(store_url)) as reopened:
        assert {reopened.get_execution(arn).result for arn in arns} == {"10"}
