"""Group commit, shared by the SQL stores: transactions of threads that queue for a store's one
connection while another runs join one database transaction, committed once.

`GroupCommit` owns the protocol; a store supplies the SQL primitives (`_begin`, `_member`,
`_run`) and what its cache does when a member's writes become visible or a transaction is
lost. `GroupCommit.run` re-runs a transaction that lost a lock conflict (`StoreConflictError`,
which only a store shared by several workers raises). Imports only `perdure.engine.errors`
and the standard library.
"""

from __future__ import annotations

import contextlib
import threading
from _thread import LockType, allocate_lock
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from perdure.engine.errors import StoreConflictError, StoreError

MAX_GROUP = 256
"""Members at most per group commit (so a steady stream of arrivals still commits)."""
MAX_ATTEMPTS = 8
"""Runs at most of one `GroupCommit.run` body that keeps losing lock conflicts."""

Tx = TypeVar("Tx")
T = TypeVar("T")
_Waiter = LockType
_new_waiter = allocate_lock


class _Group:
    """The transactions that share one commit."""

    __slots__ = ("done", "error", "members", "waiters")

    def __init__(self) -> None:
        self.members = 0
        """Members that succeeded (their writes are in the transaction)."""
        self.waiters: list[_Waiter] = []
        """One held lock per member that waits for the commit: the commit releases each."""
        self.done = False
        self.error: StoreError | None = None
        """Why the commit failed (every member raises it)."""


class GroupCommit(Generic[Tx]):
    """A store's transactions, grouped (or, with `group_commit=False`, one commit each).

    With group commit, the transactions of threads that queue for the connection while one
    runs join its database transaction, one after another (the lock is held through each
    body), and the last of them commits once no other thread is queued (or at `MAX_GROUP`
    members): one commit, one fsync. Each member returns only after that commit is durable;
    a member that joined an open group runs inside a savepoint, so its failure undoes its
    writes alone; a failed commit raises in every member. A lone transaction commits at once.

    A store whose rows other processes lock (PostgreSQL) must never let a member that joined
    an open group wait for a lock: the group already holds its earlier members' locks, taken
    in arrival order, and a wait there could close a cycle with another process's group. Its
    `_member` transactions refuse such a wait at once (`StoreConflictError`); `run` then
    commits the open group and runs the member again at the head of a new transaction, where
    it may wait.
    """

    _errors: tuple[type[Exception], ...] = ()
    """The driver's exceptions (translated by `_translate`)."""

    def __init__(self, group_commit: bool) -> None:
        self._group_commit = group_commit
        self._lock = threading.RLock()
        self._counting = threading.Lock()
        self._entering = 0
        """Threads that asked for a transaction and do not hold the lock yet."""
        self._group: _Group | None = None
        """The open transaction the members that committed since it began share."""
        self.commits = 0
        """Transactions committed so far (with group commit, one per group)."""

    # ---------------------------------------------------------- what a store supplies
    def _begin(self) -> Tx:
        """Begin a transaction; its first member's `StoreTx`."""
        raise NotImplementedError

    def _member(self) -> Tx:
        """A `StoreTx` for a member joining the open transaction."""
        raise NotImplementedError

    def _run(self, sql: str) -> None:
        """Run a statement without parameters (SAVEPOINT, COMMIT, ...)."""
        raise NotImplementedError

    def _translate(self, exc: Exception, doing: str) -> StoreError:
        raise NotImplementedError

    def _joined(self, tx: Tx) -> None:
        """A member's writes are in the transaction (later members see them)."""

    def _lost(self) -> None:
        """The transaction was rolled back with writes `_joined` reported."""

    # ------------------------------------------------------------------- the protocol
    def run(self, body: Callable[[Tx], T]) -> T:
        """`body` inside one transaction (as `transaction()`); its value.

        A transaction that lost a lock conflict (`StoreConflictError`: a deadlock or
        serialization failure the database reported, a lock a group member must not wait
        for) was rolled back whole, so `body` runs again, at the head of a new transaction, at
        most `MAX_ATTEMPTS` times. `body` must change nothing but the store (and what it
        creates itself), so that running it again is the same as running it once.
        """
        attempt = 1
        while True:
            try:
                # The steps of `_transactions`, written out again without a generator and a
                # context manager around them: every checkpoint runs here, and this is part
                # of what keeps a sequential step's CPU under its 250 µs target
                # (benchmarks/README.md, "The Python side of a step").
                tx, group, first = self._enter(attempt > 1)
                try:
                    try:
                        value = body(tx)
                    except BaseException as exc:
                        error = self._abort(exc, group, first)
                        if error is None:
                            raise
                        raise error from None
                    waiter = self._finish(tx, group, first)
                finally:
                    self._lock.release()
                if waiter is not None:
                    self._await_commit(waiter, group)
                return value
            except StoreConflictError:
                if attempt >= MAX_ATTEMPTS:
                    raise
                attempt += 1

    def _transactions(self, head: bool = False) -> Iterator[Tx]:
        """The body of the store's `transaction()` context manager; with `head`, the first
        member of a new transaction (an open group is committed first)."""
        tx, group, first = self._enter(head)
        try:
            try:
                yield tx
            except BaseException as exc:
                error = self._abort(exc, group, first)
                if error is None:
                    raise
                raise error from None
            waiter = self._finish(tx, group, first)
        finally:
            self._lock.release()
        if waiter is not None:
            self._await_commit(waiter, group)

    def _enter(self, head: bool) -> tuple[Tx, _Group | None, bool]:
        """Take the connection, then begin a transaction or join the open group.

        Returns:
            The member's `StoreTx`, its group (None without group commit) and whether it
            began the group. The lock is held on return: the caller releases it once the
            member has finished (`_finish` or `_abort`).
        """
        if not self._group_commit:
            self._lock.acquire()
            try:
                return self._begin(), None, True
            except BaseException:
                self._lock.release()
                raise
        with self._counting:
            self._entering += 1
        self._lock.acquire()
        try:
            with self._counting:
                self._entering -= 1
            if head:
                self._finish_open_group()
            group = self._group
            if group is None:
                tx = self._begin()
                group = self._group = _Group()
                return tx, group, True
            tx = self._member()
            try:
                self._run("SAVEPOINT member")
            except self._errors as exc:
                error = self._translate(exc, "savepoint")
                self._fail_group(group, error)
                raise error from None
            return tx, group, False
        except BaseException:
            self._lock.release()
            raise

    def _finish(self, tx: Tx, group: _Group | None, first: bool) -> _Waiter | None:
        """The member's body succeeded: commit its writes, alone or with its group (the last
        member to finish commits them all). Returns a held lock when the group commits later:
        the caller releases the connection, then waits for the commit (`_await_commit`).

        Raises:
            StoreError: the commit failed (every member of the group raises it).
        """
        if group is None:
            try:
                self._run("COMMIT")
            except self._errors as exc:
                self._rollback()
                raise self._translate(exc, "commit") from None
            self.commits += 1
            self._joined(tx)
            return None
        if not first:
            try:
                self._run("RELEASE member")
            except self._errors as exc:
                error = self._translate(exc, "release")
                self._fail_group(group, error)
                raise error from None
        self._joined(tx)
        group.members += 1
        self._settle(group)
        if group.done:
            if group.error is not None:
                raise group.error
            return None
        # Released by the commit: the member waits without the connection, and wakes without
        # taking it again (a `Condition` on the connection's lock made each woken member queue
        # for the lock behind the next group's members only to see its commit done).
        waiter = _new_waiter()
        waiter.acquire()
        group.waiters.append(waiter)
        return waiter

    @staticmethod
    def _await_commit(waiter: _Waiter, group: _Group | None) -> None:
        """Wait (without the connection) for the commit of the group the member joined.

        Raises:
            StoreError: the commit failed (every member of the group raises it).
        """
        waiter.acquire()
        assert group is not None  # a waiter is handed out only with a group
        if group.error is not None:
            raise group.error

    def _abort(self, exc: BaseException, group: _Group | None, first: bool) -> StoreError | None:
        """The member's body raised `exc`: undo its writes (the group's other members keep
        theirs). The error to raise instead of `exc` (None: `exc` itself)."""
        if group is None:
            self._rollback()
        else:
            self._undo_member(group, first)
            self._settle(group)
        if isinstance(exc, self._errors):
            return self._translate(exc, "transaction")
        return None

    def _undo_member(self, group: _Group, first: bool) -> None:
        """Undo a failed member's writes; the group's other members keep theirs."""
        if first:  # no one else has joined yet: the whole transaction is this member's
            self._rollback()
            self._group = None
            group.done = True
            return
        try:
            self._run("ROLLBACK TO member")
            self._run("RELEASE member")
        except self._errors as exc:
            # The database rolled the whole transaction back itself (e.g. SQLITE_FULL).
            self._fail_group(group, self._translate(exc, "rollback"))

    def _settle(self, group: _Group, *, now: bool = False) -> None:
        """Commit the group unless another member is about to join it (and it is not full)."""
        if group.done or (not now and self._entering and group.members < MAX_GROUP):
            return
        try:
            if group.members:
                self._run("COMMIT")
                self.commits += 1
            else:
                self._run("ROLLBACK")
        except self._errors as exc:
            self._fail_group(group, self._translate(exc, "commit"))
            return
        self._group = None
        group.done = True
        self._wake(group)

    def _fail_group(self, group: _Group, error: StoreError) -> None:
        """The group's transaction is lost: every member that joined it gets `error`."""
        self._rollback()
        self._lost()
        self._group = None
        group.error = error
        group.done = True
        self._wake(group)

    @staticmethod
    def _wake(group: _Group) -> None:
        """The group's commit is done (or failed): release every member that waits for it."""
        for waiter in group.waiters:
            waiter.release()
        group.waiters.clear()

    def _rollback(self) -> None:
        # The database may already have rolled back (e.g. after SQLITE_FULL): nothing to undo.
        with contextlib.suppress(*self._errors):
            self._run("ROLLBACK")

    def _finish_open_group(self) -> None:
        """Commit the open group now (before the connection closes)."""
        if self._group is not None:
            self._settle(self._group, now=True)
