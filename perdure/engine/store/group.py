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
from _thread import LockType, allocate_lock, get_ident
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

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


class _Call:
    """A `run` call queued for the thread that leads (with group commit): it runs the body."""

    __slots__ = ("body", "done", "error", "group", "head", "lead", "value")

    def __init__(self, body: Callable[[Any], Any], head: bool) -> None:
        self.body = body
        self.head = head
        """Run at the head of a new transaction (the open group is committed first)."""
        self.done = allocate_lock()
        """Held until the call's outcome is known (its group committed, or it failed), or
        until it is handed the lead."""
        self.done.acquire()
        self.lead = False
        """Woken to lead: the caller's thread runs its own body, then the calls queued."""
        self.value: Any = None
        self.error: BaseException | None = None
        self.group: _Group | None = None
        """The group its writes joined (its commit's failure is the call's)."""


class GroupCommit(Generic[Tx]):
    """A store's transactions, grouped (or, with `group_commit=False`, one commit each).

    With group commit, the transactions of threads that queue for the connection while one
    runs join its database transaction, one after another (the lock is held through each
    body), and the last of them commits once no other thread is queued (or at `MAX_GROUP`
    members): one commit, one fsync. Each member returns only after that commit is durable;
    a member that joined an open group runs inside a savepoint, so its failure undoes its
    writes alone; a failed commit raises in every member. A lone transaction commits at once.
    The bodies given to `run` are run by the thread that leads the group, the one that found
    no group led: the others queue their bodies for it and wait once, for their outcome
    (`_run_grouped`); a `transaction()` block runs on its own thread, as a member too.

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
        self._calls: deque[_Call] = deque()
        """`run` calls queued for the leading thread (guarded by `_counting`)."""
        self._leading = False
        """A thread leads: it runs the queued calls (guarded by `_counting`)."""
        self._leader: int | None = None
        """The thread that leads while it holds the connection (a `run` inside a body it
        runs joins that body's transaction)."""
        self._holder: int | None = None
        """The thread inside a `transaction()` block (it holds the connection): a `run` it
        calls joins the block's transaction, as one inside a body the leader runs does (queued
        for a leader that waits for the connection it holds, it would wait forever)."""
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
        creates itself), so that running it again is the same as running it once. With
        group commit, a `run` inside `body` or inside a `transaction()` block joins that
        transaction.
        """
        if self._group_commit:
            return self._run_grouped(body)
        attempt = 1
        while True:
            try:
                # The steps of `_transactions` without group commit, written out again
                # without a generator and a context manager around them: every checkpoint
                # runs here then, and this is part of what keeps a sequential step's CPU
                # under its 250 µs target (benchmarks/README.md, "The Python side of a step").
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

    def _run_grouped(self, body: Callable[[Tx], T]) -> T:
        """`run` with group commit: the call is queued for the thread that leads (it runs the
        bodies queued behind its own, one after another, each a member of the open group), or
        this thread leads. A queued caller blocks once, until its outcome is known: it never
        takes the connection itself (queueing for the connection lock, then waiting for the
        commit, cost every member two wake-ups, and a woken lock holder that waited for the
        interpreter held up every member behind it)."""
        attempt = 1
        while True:
            head = attempt > 1
            call = nested = None
            me = get_ident()
            with self._counting:
                if me == self._leader or me == self._holder:
                    nested = True  # inside a body this thread runs as leader, or a `transaction()` block
                elif not self._leading:
                    self._leading = True
                else:
                    call = _Call(body, head)
                    self._calls.append(call)
            if nested:
                return self._nested(body)
            if call is None:
                value, error = self._lead(body, head)
            else:
                try:
                    call.done.acquire()
                except BaseException:
                    self._abandon(call)
                    raise
                if call.lead:  # handed the lead: its body runs first
                    value, error = self._lead(body, head)
                else:
                    value, error = call.value, call.error
                    if error is None and call.group is not None:
                        error = call.group.error
            if error is None:
                return value  # type: ignore[no-any-return]
            if isinstance(error, StoreConflictError) and attempt < MAX_ATTEMPTS:
                attempt += 1
                continue
            raise error

    def _lead(self, body: Callable[[Tx], Any], head: bool) -> tuple[Any, BaseException | None]:
        """Run `body`, then the calls queued meanwhile, in the open group (up to `MAX_GROUP`
        members); commit unless another member is about to join; hand the lead to the next
        queued call. The value of `body` and its error, once its group committed."""
        waiter = None
        interrupted: KeyboardInterrupt | None = None
        try:
            self._lock.acquire()
        except BaseException:
            self._pass_lead()
            raise
        self._leader = get_ident()
        try:
            group, value, error = self._serve(body, head)
            own = group
            while group is None or group.members < MAX_GROUP:
                with self._counting:
                    if not self._calls:
                        break
                    call = self._calls.popleft()
                group, call.value, call.error = self._serve(call.body, call.head)
                if isinstance(call.error, KeyboardInterrupt):
                    # Ctrl-C reached this thread (the main one) while it ran another thread's
                    # body: the body was undone, its caller gets an error, this thread the
                    # signal, once the lead is handed on.
                    interrupted = call.error
                    call.error = StoreError("interrupted (Ctrl-C) while another thread ran this transaction")
                if group is None:
                    call.done.release()
                else:
                    call.group = group
                    group.waiters.append(call.done)
                if interrupted is not None:
                    break
            if self._group is not None:
                self._settle(self._group)
            if own is not None and not own.done:  # a `transaction()` caller commits it
                waiter = _new_waiter()
                waiter.acquire()
                own.waiters.append(waiter)
        finally:
            self._leader = None
            self._lock.release()
            self._pass_lead()
        if waiter is not None:
            waiter.acquire()
        if interrupted is not None:
            raise interrupted
        if error is None and own is not None:
            error = own.error
        return value, error

    def _pass_lead(self) -> None:
        """This thread leads but will not: hand the lead to the next queued call, or drop it."""
        with self._counting:
            successor = self._calls.popleft() if self._calls else None
            if successor is None:
                self._leading = False
            else:
                successor.lead = True
        if successor is not None:
            successor.done.release()

    def _abandon(self, call: _Call) -> None:
        """The caller of a queued `call` stops waiting (an asynchronous exception)."""
        with self._counting:
            try:
                self._calls.remove(call)  # not served yet: it never will be
                return
            except ValueError:
                pass
            lead = call.lead
        if lead:  # handed the lead: pass it on
            self._pass_lead()

    def _nested(self, body: Callable[[Tx], T]) -> T:
        """A `run` inside a body this thread runs as leader, or inside its `transaction()`
        block: a member of the open transaction (`_nested_block`)."""
        with contextlib.contextmanager(self._nested_block)() as tx:
            return body(tx)

    def _nested_block(self) -> Iterator[Tx]:
        """A member of the open transaction, in a savepoint, committed with the body or
        block that encloses it: its failure undoes its writes alone."""
        group = self._group
        if group is None:
            raise StoreError("the transaction this one joins has failed")
        tx = self._member()
        self._savepoint(group)
        try:
            yield tx
        except BaseException as exc:
            self._undo_member(group, False)
            if isinstance(exc, self._errors):
                raise self._translate(exc, "transaction") from None
            raise
        self._release(group)
        self._joined(tx)

    def _serve(
        self, body: Callable[[Tx], Any], head: bool
    ) -> tuple[_Group | None, Any, BaseException | None]:
        """Run one body as a member of the open group (or, with `head` or when none is open,
        at the head of a new one). Its group (None when it failed: it left nothing), its value
        and its error."""
        try:
            if head:
                self._finish_open_group()
            group = self._group
            first = group is None
            if group is None:
                tx = self._begin()
                group = self._group = _Group()
            else:
                tx = self._member()
                self._savepoint(group)
        except BaseException as exc:
            return None, None, exc
        try:
            value = body(tx)
        except BaseException as exc:
            translated = self._abort(exc, group, first)
            return None, None, exc if translated is None else translated
        if not first:
            try:
                self._release(group)
            except StoreError as error:
                return None, None, error
        self._joined(tx)
        group.members += 1
        return group, value, None

    def _transactions(self, head: bool = False) -> Iterator[Tx]:
        """The body of the store's `transaction()` context manager; with `head`, the first
        member of a new transaction (an open group is committed first). Inside a body this
        thread runs as leader, or inside its own `transaction()` block, a member of that
        transaction (committed with it)."""
        me = get_ident()
        if self._group_commit and (me == self._leader or me == self._holder):
            yield from self._nested_block()
            return
        tx, group, first = self._enter(head)
        holder, self._holder = self._holder, me
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
            self._holder = holder
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
        try:
            self._lock.acquire()
        finally:
            with self._counting:
                self._entering -= 1
        try:
            if head:
                self._finish_open_group()
            group = self._group
            if group is None:
                tx = self._begin()
                group = self._group = _Group()
                return tx, group, True
            tx = self._member()
            self._savepoint(group)
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
            self._release(group)
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

    def _savepoint(self, group: _Group) -> None:
        """Begin a member joining `group`'s open transaction (its failure can be undone alone)."""
        self._member_sql(group, "SAVEPOINT member", "savepoint")

    def _release(self, group: _Group) -> None:
        """End a member that joined `group` with `_savepoint`: its writes stay in the group."""
        self._member_sql(group, "RELEASE member", "release")

    def _member_sql(self, group: _Group, sql: str, doing: str) -> None:
        """Run a member's `sql`.

        Raises:
            StoreError: the database refused it; the group's transaction is lost.
        """
        try:
            self._run(sql)
        except self._errors as exc:
            error = self._translate(exc, doing)
            self._fail_group(group, error)
            raise error from None

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
        if group.done or (not now and (self._entering or self._calls) and group.members < MAX_GROUP):
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
        if group.waiters:
            self._wake(group)

    def _fail_group(self, group: _Group, error: StoreError) -> None:
        """The group's transaction is lost: every member that joined it gets `error`."""
        self._rollback()
        self._lost()
        self._group = None
        group.error = error
        group.done = True
        if group.waiters:
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
