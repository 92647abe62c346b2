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
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from perdure.engine.errors import StoreConflictError, StoreError

MAX_GROUP = 256
"""Members at most per group commit (so a steady stream of arrivals still commits)."""
MAX_ATTEMPTS = 8
"""Runs at most of one `GroupCommit.run` body that keeps losing lock conflicts."""

Tx = TypeVar("Tx")
T = TypeVar("T")


class _Group:
    """The transactions that share one commit."""

    __slots__ = ("done", "error", "members")

    def __init__(self) -> None:
        self.members = 0
        """Members that succeeded (their writes are in the transaction)."""
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
        self._cond = threading.Condition(self._lock)
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
                with self._transaction(attempt > 1) as tx:
                    return body(tx)
            except StoreConflictError:
                if attempt >= MAX_ATTEMPTS:
                    raise
                attempt += 1

    def _transactions(self, head: bool = False) -> Iterator[Tx]:
        """The body of the store's `transaction()` context manager; with `head`, the first
        member of a new transaction (an open group is committed first)."""
        if not self._group_commit:
            with self._lock:
                yield from self._alone()
            return
        with self._counting:
            self._entering += 1
        with self._cond:
            with self._counting:
                self._entering -= 1
            if head:
                self._finish_open_group()
            yield from self._grouped()

    _transaction = contextlib.contextmanager(_transactions)

    def _alone(self) -> Iterator[Tx]:
        tx = self._begin()
        try:
            yield tx
        except self._errors as exc:
            self._rollback()
            raise self._translate(exc, "transaction") from None
        except BaseException:
            self._rollback()
            raise
        try:
            self._run("COMMIT")
        except self._errors as exc:
            self._rollback()
            raise self._translate(exc, "commit") from None
        self.commits += 1
        self._joined(tx)

    def _grouped(self) -> Iterator[Tx]:
        """A member of the open group (or the first of a new one); called with `_cond` held."""
        group = self._group
        first = group is None
        if group is None:
            tx = self._begin()
            group = self._group = _Group()
        else:
            tx = self._member()
            try:
                self._run("SAVEPOINT member")
            except self._errors as exc:
                error = self._translate(exc, "savepoint")
                self._fail_group(group, error)
                raise error from None
        try:
            yield tx
        except BaseException as exc:
            self._undo_member(group, first)
            self._settle(group)
            if isinstance(exc, self._errors):
                raise self._translate(exc, "transaction") from None
            raise
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
        while not group.done:
            self._cond.wait()
        if group.error is not None:
            raise group.error

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
        self._cond.notify_all()

    def _fail_group(self, group: _Group, error: StoreError) -> None:
        """The group's transaction is lost: every member that joined it gets `error`."""
        self._rollback()
        self._lost()
        self._group = None
        group.error = error
        group.done = True
        self._cond.notify_all()

    def _rollback(self) -> None:
        # The database may already have rolled back (e.g. after SQLITE_FULL): nothing to undo.
        with contextlib.suppress(*self._errors):
            self._run("ROLLBACK")

    def _finish_open_group(self) -> None:
        """Commit the open group now (before the connection closes)."""
        if self._group is not None:
            self._settle(self._group, now=True)
