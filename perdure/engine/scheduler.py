"""The scheduler: fires due timers and (re-)invokes executions that have something new.

Exactly one invocation of an execution runs at a time (the store's open-invocation mark
guards it across processes; the in-flight set guards it here); many executions run at
once on a small thread pool. No invocation delays another: every loop (`drive`,
`run_until_idle`, `perdure serve`'s `run_forever`) sleeps on one wake-up event, never on a
running invocation, so a start, a callback, a timer coming due or a chained invoke is
started beside the invocations already running. With a virtual clock, time jumps to the
next due timer only when nothing is runnable and nothing is running; with the system clock
a loop sleeps until then (or until woken).

Waking up. A change made in this process (a start, a checkpoint starting a chained invoke,
a callback, a stop, an invocation's end) calls `notify`, which wakes every sleeping loop at
once. A change another process commits to the same SQLite file (`perdure callback`, a
second `perdure run`) is seen through `Store.external_version` (SQLite's `PRAGMA
data_version`), read every `EXTERNAL_CHECK_SECONDS` while a loop sleeps: one pragma, no
table read. The stores' tables are read again only when that number moved.

Finishing. `when_finished(arn)` returns a `concurrent.futures.Future` resolved with the
execution's terminal status by whichever thread sees it end (an invocation's end, a stop,
a loop pass), so a caller (the HTTP server's synchronous Invoke, from asyncio) waits for an
execution without holding a thread.

Deadlines (an execution's ExecutionTimeout) are timers like the others, except that the
virtual clock jumps to one only while other work (a timer, a delayed invocation) is
scheduled: alone, a deadline is how long an execution waits for the outside world, and
skipping to it would time out every execution that waits for a callback.
Imports only `perdure.wire`, `perdure.engine` internals and the standard library.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from perdure.engine import lifecycle, recovery
from perdure.engine.clock import Clock, VirtualClock
from perdure.engine.errors import EngineStalledError, UnknownFunctionError
from perdure.engine.invoker import (
    DEFAULT_INVOCATION_TIMEOUT_SECONDS,
    FunctionUnreachable,
    InvocationRetryPolicy,
    LambdaContext,
    error_of,
)
from perdure.engine.registry import FunctionRegistry, RegisteredFunction
from perdure.engine.store import Store, StoreTx, TimerKind
from perdure.wire import limits
from perdure.wire.types import ErrorObject, ExecutionStatus, InvocationOutput, OperationStatus, OperationType

_BATCH = 100
_FAILURE_PAUSE_SECONDS = 1.0
"""After the store failed, how long the background loop (`run_forever`) waits before trying
again (real time, so a broken store does not spin the loop)."""
logger = logging.getLogger("perdure.engine")
EXTERNAL_CHECK_SECONDS = 0.05
"""While idle, how often a loop reads `Store.external_version` to notice another process's
commits (a cheap pragma; the store is re-read only when it changed)."""
_FOREIGN_POLL_SECONDS = 0.05
"""A store without `external_version` is re-read this often while another engine runs the driven
execution's invocation (it cannot happen with the memory store, which no other engine shares)."""
_EXTERNAL = frozenset({OperationType.CALLBACK, OperationType.CHAINED_INVOKE})
"""Operations completed from outside the execution: by a callback call, or by the invoked
execution (which may itself wait for a callback)."""
_REAL_TIME_STEP_SECONDS = 0.2
"""While time follows the wall clock toward a callback's timeout, how often a loop looks again."""
_CALLBACK_TIMERS = frozenset({TimerKind.CALLBACK_TIMEOUT, TimerKind.CALLBACK_HEARTBEAT})


class Scheduler:
    """Runs the work a store holds: timers and invocations.

    Args:
        store, clock, registry: shared with the service.
        retry_policy: how failed invocations are retried.
        workers: invocations that may run at once (threads).
        state_page_bytes: the most an invocation event's initial state holds, as JSON.
        callbacks_in_real_time: `run_forever` on a virtual clock follows real time toward a
            callback's timeout instead of jumping to it (see `VirtualClock.follow_real_time`).
        invoker_id: the name its invocations carry (default: a fresh `recovery.new_invoker_id()`).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        registry: FunctionRegistry,
        *,
        retry_policy: InvocationRetryPolicy | None = None,
        workers: int = 4,
        state_page_bytes: int = limits.STATE_PAGE_BYTES,
        callbacks_in_real_time: bool = False,
        invoker_id: str | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self._store = store
        self._clock = clock
        self._registry = registry
        self._policy = retry_policy or InvocationRetryPolicy()
        self._state_page_bytes = state_page_bytes
        self._callbacks_in_real_time = callbacks_in_real_time
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="perdure-invoke")
        self._inflight: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self.invoker_id = recovery.new_invoker_id(invoker_id)
        """Names this engine on the invocations it opens (see `perdure.engine.recovery`; on a
        store many workers share, the worker's id, which owns their leases)."""
        self.claiming = True
        """Whether this engine opens invocations (False once it leaves the workers)."""
        self._waiters: set[threading.Event] = set()
        """One event per loop (`drive`, `run_until_idle`, `run_forever`); `notify` sets them all."""
        self._running: set[str] = set()
        """Executions whose invocation `invoke_once` runs now, on any thread."""
        self._failures: list[BaseException] = []
        """Errors of the engine itself (the store failed) that ended an invocation's thread,
        not yet raised by a loop."""
        self._watchers: dict[str, list[Future[ExecutionStatus]]] = {}
        """`when_finished` futures not yet resolved, by execution ARN."""
        self._ended_here: dict[str, ExecutionStatus] = {}
        """Executions whose invocation running here ended them, with their statuses, until
        the invocation's `_done`."""
        self._rechecks = 0
        """How many times something ended executions unseen (a settling the store failed, an
        invocation closed as lost): a loop pass then looks at every watched execution."""
        self._watched: tuple[int, int | None] | None = None
        """(`_rechecks`, the store's external version) when a loop pass last looked at every
        watched execution. An invocation's end settles its own execution, `notify` every
        watched one, so a pass looks at them all only after a timer fired, a recheck or
        another process's commit: 100 executions awaited together cost no 100 reads at every
        end."""

    # ----------------------------------------------------------------- timers

    def fire_due_timers(self) -> int:
        """Apply every timer due now (each in its own transaction). Returns how many fired."""
        fired = 0
        now = self._clock.now()
        with self._store.transaction() as tx:
            due = tx.due_timers(now, _BATCH * 10)
        for timer in due:
            if self._store.run(functools.partial(lifecycle.fire_timer, now=now, timer=timer)):
                fired += 1
        return fired

    def next_due_time(self) -> datetime | None:
        """When time next moves something: the next timer or delayed invocation (None: nothing).

        A deadline (ExecutionTimeout) counts only while other work is scheduled; this is the
        time the virtual clock jumps to when nothing is runnable.
        """
        with self._store.transaction() as tx:
            return self._next_due(tx)

    @staticmethod
    def _next_due(tx: StoreTx) -> datetime | None:
        work = [t for t in (tx.next_timer_due(deadlines=False), tx.next_invoke_after()) if t is not None]
        if not work:
            return None
        deadline = tx.next_timer_due()
        return min(work if deadline is None else [*work, deadline])

    def next_wake_time(self) -> datetime | None:
        """The next timer (deadlines included) or delayed invocation: when real time wakes a loop."""
        with self._store.transaction() as tx:
            times = [t for t in (tx.next_timer_due(), tx.next_invoke_after()) if t is not None]
        return min(times, default=None)

    # ------------------------------------------------------------ invocations

    def _runnable(self) -> list[str]:
        with self._store.transaction() as tx:
            arns = tx.executions_to_invoke(self._clock.now(), _BATCH, self._registry.names())
        with self._lock:
            return [a for a in arns if a not in self._inflight]

    def dispatch(self) -> int:
        """Start an invocation for each runnable execution not already running. Returns how many."""
        started = 0
        if not self.claiming:
            return 0
        for arn in self._runnable():
            with self._lock:
                if arn in self._inflight:
                    continue
                future = self._pool.submit(self.invoke_once, arn)
                self._inflight[arn] = future
            future.add_done_callback(functools.partial(self._done, arn))
            started += 1
        return started

    def _done(self, arn: str, future: Future[None]) -> None:
        error = None if future.cancelled() else future.exception()
        with self._lock:
            self._inflight.pop(arn, None)
            status = self._ended_here.pop(arn, None)
            if error is not None:
                error.add_note(f"(while the engine ran an invocation of {arn})")
                self._failures.append(error)
            # Woken with the pop, under one lock: a loop that finds no invocation running also
            # finds its wake-up set, so it never takes a snapshot read before this invocation's
            # end for the current state (and never reports a stall or jumps time on it).
            for event in self._waiters:
                event.set()
        if status is not None:  # the invocation's end ended the execution: nothing to read
            self._resolve({arn: status})
        else:
            self._settle_or_recheck([arn])  # only this invocation's end is news here

    def _raise_failure(self) -> None:
        """Raise the oldest engine error an invocation's thread ended with, if any."""
        with self._lock:
            if not self._failures:
                return
            error = self._failures.pop(0)
        raise error

    def wake(self) -> None:
        """Wake every sleeping loop (another worker committed news: the loops read it)."""
        with self._lock:
            waiters = list(self._waiters)
        for event in waiters:
            event.set()

    def notify(self) -> None:
        """Something may have changed (a start, a callback, a stop, an invocation ended): wake
        every sleeping loop and settle the `when_finished` futures of executions that ended."""
        self.wake()
        self._settle_or_recheck(None)

    def _settle_or_recheck(self, only: list[str] | None) -> None:
        try:
            self._settle_watchers(only)
        except Exception:  # the store failed: the next loop pass settles them (and raises it)
            self._recheck()
            logger.exception("perdure engine: could not check the executions awaited with when_finished")

    # ------------------------------------------------------------- finishing

    def when_finished(self, arn: str) -> Future[ExecutionStatus]:
        """A future resolved with `arn`'s terminal status once it has ended and no invocation of
        it runs in this engine any more (as `drive` returns); no thread waits for it.

        It is resolved by whatever notices the end: the invocation that finished the
        execution, a stop or a timeout, a loop of this engine seeing another process's
        commit. So something must run the execution (`Engine.start`'s loop, `drive`,
        `run_until_idle`). Cancelling the future only stops the watch; `close` cancels the
        futures still pending.
        """
        future: Future[ExecutionStatus] = Future()
        with self._lock:
            self._watchers.setdefault(arn, []).append(future)
        future.add_done_callback(functools.partial(self._unwatch, arn))
        self._settle_watchers([arn])  # it may have ended already
        return future

    def _unwatch(self, arn: str, future: Future[ExecutionStatus]) -> None:
        with self._lock:
            futures = self._watchers.get(arn)
            if futures is not None and future in futures:
                futures.remove(future)
                if not futures:
                    del self._watchers[arn]

    def _settle_watchers(self, only: list[str] | None = None) -> None:
        """Resolve the `when_finished` futures of watched executions (or of those in `only`)
        that are no longer RUNNING."""
        with self._lock:
            if not self._watchers:
                return
            arns = list(self._watchers) if only is None else [a for a in only if a in self._watchers]
        if not arns:
            return
        # Through `run`, not `transaction()`: with group commit, the thread leading the
        # group reads it for this one, which does not queue for the connection itself.
        self._resolve(self._store.run(functools.partial(self._ended, arns)))

    def _resolve(self, ended: dict[str, ExecutionStatus]) -> None:
        """Resolve the `when_finished` futures of executions that ended (with their statuses)."""
        with self._lock:
            settled = [(future, ended[arn]) for arn in ended for future in self._watchers.pop(arn, [])]
        for future, status in settled:
            if future.set_running_or_notify_cancel():
                future.set_result(status)

    def _ended(self, arns: list[str], tx: StoreTx) -> dict[str, ExecutionStatus]:
        """The statuses of those of `arns` that have ended, with no invocation running here."""
        ended: dict[str, ExecutionStatus] = {}
        for arn in arns:
            rec = tx.peek_execution(arn)
            if rec is not None and not rec.is_running and not self._is_running_here(arn):
                ended[arn] = rec.status
        return ended

    def _waiter(self) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._waiters.add(event)
        return event

    def _forget(self, event: threading.Event) -> None:
        with self._lock:
            self._waiters.discard(event)

    def invoke_once(self, arn: str) -> None:
        """Run one invocation of `arn` if it needs one (on the calling thread)."""
        with self._lock:
            if arn in self._running:
                return
            # Marked before the invocation opens: an open invocation of this engine that is
            # not marked is one whose thread failed (`_drive` closes it).
            self._running.add(arn)
        try:
            self._invoke(arn)
        finally:
            with self._lock:
                self._running.discard(arn)

    def _begin(self, tx: StoreTx, arn: str) -> tuple[lifecycle.BegunInvocation, RegisteredFunction] | None:
        # Skip it if another transaction holds it: another worker is claiming or changing it
        # (no claim waits for a lock); a later pass sees.
        rec = tx.get_execution(arn, skip_locked=True)
        if rec is None:
            return None
        function = self._registry.get(rec.function_name)
        if function is None or not self.claiming:
            return None  # not registered in this process: leave it for one that has it
        begun = lifecycle.begin_invocation(
            tx, self._clock.now(), arn, self.invoker_id, self._state_page_bytes
        )
        return None if begun is None else (begun, function)

    def _invoke(self, arn: str) -> None:
        claimed = self._store.run(lambda tx: self._begin(tx, arn))
        if claimed is None:
            return
        begun, function = claimed
        start = self._clock.now()
        context = LambdaContext(
            aws_request_id=begun.request_id,
            function_name=function.name,
            function_version=function.version,
            invoked_function_arn=function.qualified_arn,
            log_group_name=f"/aws/lambda/{function.name}",
            log_stream_name=f"perdure/{begun.request_id}",
            deadline=start + timedelta(seconds=DEFAULT_INVOCATION_TIMEOUT_SECONDS),
            now=self._clock.now,
        )
        output: InvocationOutput | None = None
        error: ErrorObject | None = None
        reached = True
        try:
            output = function.invocable(begun.input, context)
            if not isinstance(output, InvocationOutput):
                error = ErrorObject(
                    error_type="Runtime.InvalidResponse",
                    error_message=f"the function returned {type(output).__name__}, not an InvocationOutput",
                )
                output = None
        except (Exception, SystemExit) as exc:  # a function error: recorded, then retried
            error = error_of(exc)
            reached = not isinstance(exc, FunctionUnreachable)
        ended = self._store.run(
            lambda tx: lifecycle.end_invocation(
                tx, self._clock.now(), arn, begun.request_id, output, error, self._policy, reached=reached
            )
        )
        if ended is not None and not ended.is_running:
            # Durable now, and an ended status never changes: `_done` resolves the execution's
            # `when_finished` futures with it instead of reading it again.
            with self._lock:
                if arn in self._inflight:  # dispatched: its `_done` follows
                    self._ended_here[arn] = ended.status

    # ------------------------------------------------------------------ loops

    def _advance(self) -> tuple[int, int]:
        """One pass of every loop: raise an engine error a worker ended with, fire the due
        timers, start every runnable invocation, settle `when_finished` futures. Returns
        (timers fired, invocations started)."""
        self._raise_failure()
        fired = self.fire_due_timers()
        started = self.dispatch()
        self._settle_pass(fired > 0)
        return fired, started

    def _recheck(self) -> None:
        with self._lock:
            self._rechecks += 1

    def _settle_pass(self, fired: bool) -> None:
        """A loop pass's settling: every watched execution, when something other than an
        invocation's end may have ended one (see `_watched`)."""
        with self._lock:
            if not self._watchers:
                return
            rechecks = self._rechecks
        seen = (rechecks, self._store.external_version())  # read before looking
        if fired or seen != self._watched:
            self._watched = None  # until the look succeeds
            self._settle_watchers()
            self._watched = seen

    def _is_busy(self) -> bool:
        """Whether an invocation this engine started is still running."""
        with self._lock:
            return bool(self._inflight)

    def _is_running_here(self, arn: str) -> bool:
        """Whether an invocation of `arn` that this engine started is still running."""
        with self._lock:
            return arn in self._inflight

    def _wait_for_change(self, wakeup: threading.Event, version: int | None) -> None:
        """Sleep while invocations run, until anything may have changed: an invocation ended
        or new work arrived (`notify`), a timer came due (real time), another process committed.
        The virtual clock never moves here: time jumps only when nothing is running."""
        virtual = isinstance(self._clock, VirtualClock)
        self._idle(None if virtual else self.next_wake_time(), wakeup, version)

    def run_until_idle(self) -> None:
        """Fire due timers and run invocations until nothing is runnable at the current time
        and nothing is running. Work that arrives meanwhile (a start, a callback, a timer
        coming due) is started at once, beside the invocations already running.

        Raises:
            StoreError: the store failed while an invocation began, checkpointed or ended
                (also when that happened on a worker thread): raised here, not lost, so
                `drive` cannot wait for an invocation that nobody runs any more.
        """
        wakeup = self._waiter()
        try:
            while True:
                wakeup.clear()  # before reading: a change after this read wakes the wait below
                version = self._store.external_version()
                fired, started = self._advance()
                if self._is_busy():
                    self._wait_for_change(wakeup, version)
                    continue
                self._raise_failure()
                if not fired and not started:
                    return
        finally:
            self._forget(wakeup)

    def drive(self, arn: str) -> ExecutionStatus:
        """Run until execution `arn` ends (and everything else runnable on the way).

        Returns as soon as `arn` has ended and no invocation of it runs here, whatever else
        still runs. An invocation this engine left open because the store failed while it
        ended is closed as interrupted and the execution invoked again.

        Raises:
            UnknownFunctionError: its function is not registered in this engine.
            EngineStalledError: it is RUNNING, nothing runs and nothing is scheduled to wake it.
            StoreError: the store failed (see `run_until_idle`).
        """
        wakeup = self._waiter()
        try:
            return self._drive(arn, wakeup)
        finally:
            self._forget(wakeup)

    def _drive(self, arn: str, wakeup: threading.Event) -> ExecutionStatus:
        virtual = isinstance(self._clock, VirtualClock)
        while True:
            wakeup.clear()
            version = self._store.external_version()  # before reading: no commit slips between
            self._advance()
            with self._store.transaction() as tx:
                # One snapshot: another loop on this engine (`perdure serve`'s) may fire a
                # timer between two reads, and the execution would look stalled.
                rec = tx.peek_execution(arn)
                due = self._next_due(tx)
            if rec is None:
                raise UnknownFunctionError(f"no durable execution {arn!r}")
            if not rec.is_running:
                if self._is_running_here(arn):
                    # Stopped or timed out while its invocation runs: wait for that invocation
                    # to return (its output is ignored), so nothing of it outlives `drive`.
                    self._wait_for_change(wakeup, version)
                    continue
                return rec.status
            if self._registry.get(rec.function_name) is None:
                raise UnknownFunctionError(
                    f"execution {arn} belongs to function {rec.function_name!r}, which is not registered"
                )
            if rec.request_id is not None:
                if rec.invoker == self.invoker_id and self._close_lost(arn):
                    continue
                if self._is_running_here(arn):
                    self._wait_for_change(wakeup, version)  # its end wakes this loop
                else:
                    # Another engine on the same store (or a direct `invoke_once` call) runs its
                    # invocation: wait for its commits.
                    self._idle(None, wakeup, version, fallback=_FOREIGN_POLL_SECONDS)
                continue
            if self._is_busy() or wakeup.is_set():
                # Other invocations run (one may complete its callback or chained invoke, and
                # the virtual clock must not jump under them), or something changed since the
                # snapshot: look again once it has.
                self._wait_for_change(wakeup, version)
                continue
            if due is None and not rec.needs_invocation:
                self._check_not_stalled(arn, rec.key, virtual)
            if virtual and due is not None:
                self._clock.sleep_until(due, wakeup)
            else:
                # Real time: sleep until the next timer (deadlines included) or a change.
                self._idle(self.next_wake_time(), wakeup, version)

    def _close_lost(self, arn: str | None = None) -> bool:
        """Close the open invocations of this engine (or of `arn` only) that no thread runs
        any more, because the store failed while they ended: their executions are invoked
        again. Whether one was closed."""
        closed = self._store.run(lambda tx: self._close_lost_in(tx, arn))
        if closed:
            self._recheck()
        return closed

    def _close_lost_in(self, tx: StoreTx, arn: str | None) -> bool:
        closed = False
        for rec in tx.executions_with_open_invocation():
            if rec.invoker != self.invoker_id or (arn is not None and rec.arn != arn):
                continue
            with self._lock:
                # An invocation is marked running before it opens (`invoke_once`), and stays
                # in flight until `_done` has recorded how its thread ended. A recorded
                # failure not yet raised may be this invocation's: the next pass raises it
                # first (closing now would fail the same way and bury it).
                if rec.arn in self._running or rec.arn in self._inflight or self._failures:
                    continue
            current = tx.get_execution(rec.arn)  # locked: another worker may have recovered it
            if current is None or current.request_id != rec.request_id:
                continue
            lifecycle.close_interrupted(tx, self._clock.now(), current)
            closed = True
        return closed

    def _check_not_stalled(self, arn: str, execution_key: int, virtual: bool) -> None:
        """Raise when nothing can resume the execution (an open callback counts on real time)."""
        if self._awaits_external(execution_key):
            if not virtual:
                return  # a callback (or an invoked execution) may complete it: wait for that
            raise EngineStalledError(
                f"execution {arn} waits for a callback (its own or an invoked execution's) and"
                " nothing else is scheduled: on the virtual clock, deliver it"
                " (send_durable_execution_callback_success/failure) between run_until_idle()"
                " calls, advance the clock past its ExecutionTimeout, or drive on the real clock"
            )
        # Read again after the operations: a callback another process completed since the
        # caller's snapshot has, in the same commit, made the execution runnable.
        with self._store.transaction() as tx:
            rec = tx.peek_execution(arn)
            due = self._next_due(tx)
        if (
            rec is None
            or not rec.is_running
            or rec.needs_invocation
            or rec.request_id is not None
            or due is not None
        ):
            return  # not stalled: the caller's loop looks again
        raise EngineStalledError(
            f"execution {arn} is RUNNING but nothing is scheduled to resume it"
            " (its last invocation returned PENDING with no wait, retry or callback outstanding)"
        )

    def _idle(
        self,
        due: datetime | None,
        wakeup: threading.Event,
        version: int | None,
        *,
        fallback: float | None = None,
    ) -> None:
        """Sleep until `due` (real time; None: no time limit), `notify`, or a commit by another
        process (`version` moved); without a version, until `due`, `notify` or `fallback` seconds."""
        virtual = isinstance(self._clock, VirtualClock)
        if version is None:
            if fallback is not None:
                wakeup.wait(fallback)
            elif virtual or due is None:
                wakeup.wait()
            else:
                self._clock.sleep_until(due, wakeup)
            return
        while True:
            if virtual or due is None:
                if wakeup.wait(EXTERNAL_CHECK_SECONDS):
                    return
            else:
                step = self._clock.now() + timedelta(seconds=EXTERNAL_CHECK_SECONDS)
                self._clock.sleep_until(min(due, step), wakeup)
                if wakeup.is_set() or self._clock.now() >= due:
                    return
            if self._store.external_version() != version:
                return

    def _awaits_external(self, execution_key: int) -> bool:
        """Whether the execution has an open (STARTED) CALLBACK or CHAINED_INVOKE operation."""
        after, size = -1, _BATCH * 10
        with self._store.transaction() as tx:
            while True:
                page = tx.list_operations(execution_key, after, size)
                if any(op.type in _EXTERNAL and op.status is OperationStatus.STARTED for _, op in page):
                    return True
                if len(page) < size:
                    return False
                after = page[-1][0]

    def run_forever(self, stop: threading.Event) -> None:
        """Serve every execution until `stop` is set: run what is runnable, then sleep until
        anything changes (a `notify`, an invocation's end, the next due timer, another
        process's commit). The virtual clock jumps to the next due time only when nothing is
        running. Once stopped, waits for the invocations still running to end."""
        wakeup = self._waiter()
        virtual = isinstance(self._clock, VirtualClock)
        try:
            while not stop.is_set():
                wakeup.clear()
                try:
                    version = self._store.external_version()
                    self._advance()
                    due = None if self._is_busy() else self.next_due_time()
                except Exception:
                    # The store failed (disk full, locked for longer than the busy timeout):
                    # a server keeps serving, and tries again after a pause.
                    logger.exception(
                        "perdure engine: scheduling failed; retrying in %.0f s", _FAILURE_PAUSE_SECONDS
                    )
                    stop.wait(_FAILURE_PAUSE_SECONDS)
                    with contextlib.suppress(Exception):
                        self._close_lost()
                    continue
                if stop.is_set():
                    break
                if virtual and due is not None and not wakeup.is_set():
                    self._skip_to(due, wakeup)
                else:
                    self._wait_for_change(wakeup, version)
        finally:
            self._forget(wakeup)
        with self._lock:
            running = list(self._inflight.values())
        wait(running)

    def _skip_to(self, due: datetime, wakeup: threading.Event) -> None:
        """Jump the virtual clock to `due`, or, when a callback would time out there and
        `callbacks_in_real_time`, follow real time toward it (woken by `notify`)."""
        assert isinstance(self._clock, VirtualClock)
        if self._callbacks_in_real_time:
            with self._store.transaction() as tx:
                timers = tx.due_timers(due, _BATCH)
            if any(t.kind in _CALLBACK_TIMERS for t in timers):
                self._clock.follow_real_time(due, wakeup, _REAL_TIME_STEP_SECONDS)
                return
        self._clock.sleep_until(due, wakeup)

    def close(self) -> None:
        """Wait for running invocations, stop the worker threads, cancel pending `when_finished` futures."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        recovery.retire_invoker_id(self.invoker_id)
        with self._lock:
            pending = [future for futures in self._watchers.values() for future in futures]
            self._watchers.clear()
        for future in pending:
            future.cancel()
