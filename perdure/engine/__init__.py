"""perdure's embedded durable-execution engine: the `Engine` facade the tools use.

The engine stores executions, applies checkpoints, writes history, fires timers and
(re-)invokes registered functions. It speaks only the wire contract: it imports
`perdure.wire` and the standard library, never `perdure.sdk` or the tools.

    engine = Engine.open(memory=True, skip_time=True)
    engine.register_function("orders", invocable)
    arn = engine.start_execution("orders", '{"id": 1}', execution_name="order-1")
    engine.drive(arn)

`drive` runs an execution to its end on the calling thread. A server instead runs the
engine's loop (`start`) and waits for an execution without holding a thread:
`when_finished(arn)` returns a `concurrent.futures.Future` resolved with the execution's
terminal `ExecutionStatus` as soon as it ends (from asyncio:
`await asyncio.wrap_future(engine.when_finished(arn))`). No invocation delays another: new
work is started beside the invocations already running (see `perdure.engine.scheduler`).
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from perdure.engine.clock import Clock, DatabaseClock, SystemClock, VirtualClock
from perdure.engine.errors import (
    EngineError,
    EngineStalledError,
    StoreCorruptedError,
    StoreError,
    UnknownFunctionError,
)
from perdure.engine.invoker import (
    FunctionUnreachable,
    Invocable,
    InvocationCrashed,
    InvocationRetryPolicy,
    LambdaContext,
)
from perdure.engine.lifecycle import DEFAULT_EXECUTION_TIMEOUT_SECONDS
from perdure.engine.recovery import recover
from perdure.engine.registry import FunctionRegistry, RegisteredFunction
from perdure.engine.scheduler import Scheduler
from perdure.engine.service import EngineService
from perdure.engine.store import (
    Durability,
    MemoryStore,
    SqliteStore,
    Store,
    WorkerInfo,
    default_db_location,
    default_db_path,
    open_store,
    workers_of,
)
from perdure.wire import limits
from perdure.wire.types import (
    Event,
    ExecutionStatus,
    GetDurableExecutionHistoryRequest,
    GetDurableExecutionRequest,
    GetDurableExecutionResponse,
)


class Engine:
    """The local durable-execution service, its scheduler and its function registry.

    Args:
        store: where executions live (default: a `MemoryStore`).
        clock: every time read (default: `SystemClock`).
        max_operations: operations allowed per execution (AWS: 3,000; raise it for benchmarks).
        invocation_retry: how an invocation that raised or crashed is retried.
        workers: invocations that may run at once.
        execution_timeout: ExecutionTimeout recorded on new executions, in seconds.
        recover_on_open: close invocations a dead process left open (see `perdure.engine.recovery`).
        state_page_bytes: the most of the state an invocation event (or a state page) holds, as
            JSON; the rest is paged with `NextMarker` (default: Lambda's 6 MB invoke payload
            less room for the event's other members; lower it to exercise paging).
        callbacks_in_real_time: on a virtual clock, `start()`'s loop never jumps to a callback's
            timeout or heartbeat timeout: while one is next, time follows the wall clock, so a
            client can answer the callback (what `perdure serve --skip-time` does).
    """

    def __init__(
        self,
        store: Store | None = None,
        clock: Clock | None = None,
        *,
        max_operations: int = limits.DEFAULT_MAX_OPERATIONS,
        invocation_retry: InvocationRetryPolicy | None = None,
        workers: int = 4,
        execution_timeout: int = DEFAULT_EXECUTION_TIMEOUT_SECONDS,
        recover_on_open: bool = True,
        state_page_bytes: int = limits.STATE_PAGE_BYTES,
        callbacks_in_real_time: bool = False,
    ) -> None:
        self.store: Store = store if store is not None else MemoryStore()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.registry = FunctionRegistry()
        self._workers = workers_of(self.store)
        """This engine as one of the workers of a shared store (PostgreSQL); None otherwise."""
        self._joined = False
        self._join_lock = threading.Lock()
        self.scheduler = Scheduler(
            self.store,
            self.clock,
            self.registry,
            retry_policy=invocation_retry,
            workers=workers,
            state_page_bytes=state_page_bytes,
            callbacks_in_real_time=callbacks_in_real_time,
            invoker_id=None if self._workers is None else self._workers.worker_id,
        )
        self.service = EngineService(
            self.store,
            self.clock,
            self.registry,
            max_operations=max_operations,
            execution_timeout=execution_timeout,
            on_change=self.scheduler.notify,
            run_to_completion=self.drive,
            state_page_bytes=state_page_bytes,
            functions_elsewhere=None if self._workers is None else self._functions_elsewhere,
        )
        self._background: threading.Thread | None = None
        self._stop = threading.Event()
        self.recovered: list[str] = recover(self.store, self.clock) if recover_on_open else []
        """ARNs whose interrupted invocation was closed when this engine opened the store."""

    # ---------------------------------------------------------- constructors

    @classmethod
    def open(
        cls,
        db_path: str | Path | None = None,
        *,
        memory: bool = False,
        skip_time: bool = False,
        durability: Durability | str = Durability.FULL,
        group_commit: bool = True,
        worker_id: str | None = None,
        lease_ttl: float | None = None,
        **options: Any,
    ) -> Engine:
        """An engine on a SQLite file or a PostgreSQL database (default: `default_db_location()`)
        or, with `memory`, in memory.

        Args:
            db_path: a database file or a `postgresql://` URL; None: `$PERDURE_DB` or
                `.perdure/perdure.db` under the cwd.
            memory: keep everything in memory instead (nothing survives the process).
            skip_time: use a `VirtualClock` that jumps over waits and retry delays.
            durability: `"full"` (default) or `"normal"` (see `Durability`).
            group_commit: concurrent transactions share commits (see `SqliteStore`).
            worker_id: this engine's id among the workers of a PostgreSQL database (default:
                `host:pid:random`).
            lease_ttl: seconds an invocation's lease holds without renewal on a PostgreSQL
                database (default `DEFAULT_LEASE_TTL_SECONDS`, 10).
            **options: passed to `Engine(...)` (max_operations, invocation_retry, workers, ...).

        Raises:
            StoreCorruptedError, StoreError: the database cannot be used.
        """
        store: Store = (
            MemoryStore()
            if memory
            else open_store(
                db_path or default_db_location(),
                durability=durability,
                group_commit=group_commit,
                worker_id=worker_id,
                lease_ttl=lease_ttl,
            )
        )
        try:
            workers = workers_of(store)
            clock: Clock
            if skip_time:
                clock = VirtualClock()
            elif workers is not None:
                # Workers on one database agree on time: the database's (leases use it too).
                clock = DatabaseClock()
                clock.set_offset(workers.clock_offset())
            else:
                clock = SystemClock()
            return cls(store, clock, **options)
        except BaseException:
            store.close()
            raise

    @classmethod
    def in_memory(cls, *, skip_time: bool = True, **options: Any) -> Engine:
        """A throwaway engine for tests: memory store, virtual clock by default."""
        return cls.open(memory=True, skip_time=skip_time, **options)

    # ------------------------------------------------------------- functions

    def register_function(
        self, name: str, invocable: Invocable, aliases: tuple[str, ...] | list[str] = ()
    ) -> RegisteredFunction:
        """Register a durable function under `name` (its ARNs and `aliases` resolve too)."""
        return self.registry.register(name, invocable, aliases)

    def start_execution(
        self,
        function_name: str,
        input_payload: str | None,
        execution_name: str | None = None,
        *,
        execution_timeout: int | None = None,
    ) -> str:
        """Start an execution; the same name and input again returns the same ARN.

        Args:
            execution_timeout: its ExecutionTimeout in seconds, 1..31,622,400 (None: the
                engine's `execution_timeout`). Past it the execution ends TIMED_OUT.

        Raises:
            UnknownFunctionError: the function is not registered.
            DurableExecutionAlreadyStartedError: the name was used with another input.
            InvalidParameterValueError: a malformed name or timeout, an oversized input.
        """
        arn, _ = self.service.start_execution(
            function_name, input_payload, execution_name, execution_timeout=execution_timeout
        )
        return arn

    # ------------------------------------------------------------------ time

    @property
    def skips_time(self) -> bool:
        return isinstance(self.clock, VirtualClock)

    def run_until_idle(self) -> None:
        """Fire due timers and run invocations until nothing is runnable now (time does not move)."""
        self.join()
        self.scheduler.run_until_idle()

    def next_due_time(self) -> datetime | None:
        """When time next moves something (a timer, a delayed invocation); None: nothing is
        scheduled. An ExecutionTimeout counts only while something else is scheduled."""
        return self.scheduler.next_due_time()

    def advance_to(self, when: datetime) -> None:
        """Move the virtual clock to `when` (then call `run_until_idle`).

        Raises:
            TypeError: the engine runs on real time.
        """
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("advance_to needs a virtual clock: use Engine.open(skip_time=True)")
        self.clock.advance_to(when)

    def follow_real_time(self, deadline: datetime | None, seconds: float) -> None:
        """Let `seconds` of real time pass on the virtual clock (never past `deadline`): how a
        skip-time run waits for a callback's answer (see `VirtualClock.follow_real_time`).

        Raises:
            TypeError: the engine runs on real time.
        """
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("follow_real_time needs a virtual clock: use Engine.open(skip_time=True)")
        self.clock.follow_real_time(deadline, threading.Event(), seconds)

    def drive(self, arn: str, skip_time: bool | None = None) -> GetDurableExecutionResponse:
        """Run execution `arn` to its end and return it (`GetDurableExecution`).

        Other executions' invocations run beside it and never delay it: `drive` returns once
        `arn` has ended, whatever still runs (on the virtual clock, though, time jumps only
        while nothing runs).

        On the real clock, an execution waiting for a callback keeps `drive` blocked until the
        callback is completed (by another thread, `perdure callback` from another process, the
        HTTP API) or times out, or the execution reaches its ExecutionTimeout.

        Args:
            skip_time: jump over waits (needs the virtual clock); None: whatever the clock does.

        Raises:
            ValueError: skip_time=True on real time.
            EngineStalledError: the execution waits on nothing the engine can fire (with skipped
                time, an open callback with nothing else scheduled counts as a stall: deliver it
                between `run_until_idle` calls).
            StoreError: the store failed while an invocation began, checkpointed or ended;
                calling `drive` again once the store works resumes the execution.
        """
        if skip_time is None:
            skip_time = self.skips_time
        if skip_time and not self.skips_time:
            raise ValueError("skip_time needs a virtual clock: use Engine.open(skip_time=True)")
        self.join()
        self.scheduler.drive(arn)
        return self.get_execution(arn)

    def when_finished(self, arn: str) -> Future[ExecutionStatus]:
        """A future resolved with execution `arn`'s terminal status once it has ended (and an
        invocation of it this engine ran when it was stopped or timed out has returned).

        No thread waits for it: whatever ends the execution resolves it (an invocation, a
        stop, a timeout, another process's commit seen by a loop), so something must run the
        execution (`start`, `drive` or `run_until_idle`). Resolved at once if it has ended
        already. Cancelling the future only stops the watch; `close` cancels those pending.

        Raises:
            ResourceNotFoundError: no execution `arn`.
        """
        self.get_execution(arn)  # ResourceNotFoundError: a watch that could never resolve
        return self.scheduler.when_finished(arn)

    # --------------------------------------------------------------- reading

    def get_execution(self, arn: str) -> GetDurableExecutionResponse:
        return self.service.get_durable_execution(GetDurableExecutionRequest(arn))

    def function_names(self) -> list[str]:
        """Every function with executions in the store (registered here or not), sorted."""
        return self.service.function_names()

    def history(self, arn: str, *, include_execution_data: bool = True) -> list[Event]:
        """Every history event of `arn`, in order."""
        events: list[Event] = []
        marker: str | None = None
        while True:
            page = self.service.get_durable_execution_history(
                GetDurableExecutionHistoryRequest(
                    arn, include_execution_data=include_execution_data, marker=marker
                )
            )
            events.extend(page.events)
            marker = page.next_marker
            if marker is None:
                return events

    def start(self) -> None:
        """Serve all executions on a background thread (for `perdure serve`): timers fire and
        executions are invoked without anyone calling `drive`. `stop()` or `close()` ends it."""
        if self._background is not None:
            return
        self.join()
        self._stop.clear()
        self._background = threading.Thread(
            target=self.scheduler.run_forever, args=(self._stop,), name="perdure-scheduler", daemon=True
        )
        self._background.start()

    # --------------------------------------------------------------- workers

    def join(self) -> None:
        """On a store many workers share (PostgreSQL), join them: register this engine (its
        functions, its clock), listen for the others' news, renew the leases of the
        invocations it runs and recover those whose lease expired, on a thread (see
        `perdure.engine.store.pg_workers`). `start`, `drive` and `run_until_idle` call it;
        nothing to do on other stores.

        Raises:
            StoreError: the engine skips time and another worker is live, or a live worker
                skips time (virtual time needs a database of its own).
        """
        workers = self._workers
        if workers is None:
            return
        with self._join_lock:
            if not self._joined:
                workers.join(self.registry.names, self.skips_time, self.scheduler.wake, self._beat)
                self._joined = True
                self.scheduler.claiming = True

    @property
    def worker_id(self) -> str | None:
        """This engine's id among the workers of a PostgreSQL store; None on other stores."""
        return None if self._workers is None else self._workers.worker_id

    def live_workers(self) -> list[WorkerInfo] | None:
        """The workers serving the store now, with their functions (a store many workers
        share); None for a store one process serves."""
        return None if self._workers is None else self._workers.live_workers()

    def _functions_elsewhere(self) -> set[str]:
        """The functions a worker of a shared store ever registered: an execution of one is
        started even while no live worker has it (a rolling restart); it waits for one."""
        return set() if self._workers is None else self._workers.known_functions()

    def _beat(self, offset: timedelta, expired: bool) -> None:
        """After each lease renewal (on the workers' thread): follow the database's clock and,
        when an open invocation's lease `expired` (a worker died or paused), recover it."""
        if isinstance(self.clock, DatabaseClock):
            self.clock.set_offset(offset)
        if expired and recover(self.store, self.clock):
            self.scheduler.notify()

    def _leave(self) -> None:
        """Leave the workers: open no more invocations, end this engine's leases and close
        their invocations as interrupted now, so the other workers run them at once."""
        workers = self._workers
        if workers is None:
            return
        with self._join_lock:
            if not self._joined:
                return  # never joined, or left already (`close` after `stop`)
            self._joined = False
        self.scheduler.claiming = False
        workers.leave()
        recover(self.store, self.clock)

    def stop(self) -> None:
        """End the background thread started by `start()` (running invocations finish first;
        nothing new starts unless `drive` or `run_until_idle` is called). On a store many
        workers share, this engine leaves them first (see `close`)."""
        thread = self._background
        if thread is None:
            return
        self._stop.set()
        self.scheduler.notify()
        with contextlib.suppress(StoreError):  # the database is gone: the leases expire alone
            self._leave()  # before waiting for the invocations: the other workers take them now
        thread.join()
        self._background = None

    def close(self) -> None:
        """Stop the background thread and the worker threads, then close the store. On a store
        many workers share, this engine's leases end first: the invocations it still runs are
        closed as interrupted and the other workers invoke them again at once (their late
        checkpoints are refused)."""
        with contextlib.suppress(StoreError):  # the database is gone: the leases expire alone
            self._leave()
        self.stop()
        self.scheduler.close()
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = [
    "Clock",
    "DatabaseClock",
    "Durability",
    "Engine",
    "EngineError",
    "EngineService",
    "EngineStalledError",
    "FunctionRegistry",
    "FunctionUnreachable",
    "Invocable",
    "InvocationCrashed",
    "InvocationRetryPolicy",
    "LambdaContext",
    "MemoryStore",
    "SqliteStore",
    "Store",
    "StoreCorruptedError",
    "StoreError",
    "SystemClock",
    "UnknownFunctionError",
    "VirtualClock",
    "default_db_location",
    "default_db_path",
    "open_store",
]
