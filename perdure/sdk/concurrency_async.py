"""The concurrency engine of map and parallel on the async face: branches as tasks.

Owns `AsyncConcurrentExecutor`, the coordinator of one batch of an `async def` handler.
The model is the sync face's (`perdure.sdk.concurrency`): the same `RunState` admits
branches in index order under `max_concurrency` and the completion policy, settles each
run, keeps the resume waves of branches suspended until a time, and decides when the
batch completes or suspends. Only the I/O differs: a branch runs as a task on the
invocation's loop (no thread per branch), the coordinator awaits an `asyncio.Event`
instead of a condition, and a wave's refresh checkpoint is awaited.

Everything runs on the loop's one thread, so `RunState`'s lock is never contended.
Branches still running when the batch completes keep running, as on the sync face; the
invocation cancels them when the handler ends. Imports only `perdure.sdk` modules below
the contexts and the standard library.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any, Protocol, TypeVar

from .batch import BatchResult
from .completion import CompletionConfig, CompletionPolicy, CompletionTracker
from .concurrency import Branch, BranchRunner, RunState, batch_result, ended_with, succeeded
from .errors import SuspendExecution, TimedSuspendExecution
from .operations._base import Flow
from .state import ExecutionState

T = TypeVar("T")


class TaskRuntime(Protocol):
    """What the executor needs of the invocation's async runtime (`perdure.sdk.aio`)."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    @property
    def state(self) -> ExecutionState: ...

    def drive(self, flow: Flow[T]) -> Coroutine[Any, Any, T]:
        """Run an operation's flow, awaiting its I/O."""
        ...

    def track(self, task: asyncio.Task[Any]) -> None:
        """Count `task` among the invocation's tasks (ended when the handler ends)."""
        ...


class AsyncConcurrentExecutor:
    """Runs the branches of one batch as tasks and returns its `BatchResult`.

    Args:
        runtime: the invocation's async runtime (drives the branches' flows, tracks tasks).
        runner: runs one branch.
        completion_config: when the batch completes.
        max_concurrency: branches in flight at once (None: all).
    """

    def __init__(
        self,
        runtime: TaskRuntime,
        runner: BranchRunner,
        completion_config: CompletionConfig,
        max_concurrency: int | None,
    ) -> None:
        self.runtime = runtime
        self.runner = runner
        self.branches: Sequence[Branch] = runner.branches
        self.policy = CompletionPolicy.from_config(len(self.branches), completion_config)
        self.max_concurrency = max_concurrency

    async def _outcome(self, index: int) -> Any:
        """Run branch `index` once and say how that run ended."""
        try:
            result = await self.runtime.drive(self.runner.operation(index).flow())
        except BaseException as exc:
            return ended_with(index, exc)
        return succeeded(index, result)

    async def execute(self) -> BatchResult[Any]:
        """Run the batch until it completes (or raise to suspend).

        Raises:
            SuspendExecution: every branch in flight is suspended.
            NonDeterministicExecutionError, InvocationError: a branch hit an
                execution-terminal error.
        """
        run = RunState(self, CompletionTracker(self.policy, names=[b.custom_name for b in self.branches]))
        run.max_running = run.max_in_flight  # tasks, not threads: no thread cap applies
        if not self.branches or run.tracker.check().is_done:
            return self._result(run)
        runtime = self.runtime
        loop = runtime.loop
        wake = asyncio.Event()

        async def work(index: int | None) -> None:
            try:
                while index is not None:
                    index = run.settle_and_admit(await self._outcome(index))
            except BaseException as exc:  # a fault of the executor, or a cancellation
                run.fail(exc)
            finally:
                wake.set()

        def start(indexes: list[int]) -> None:
            for index in indexes:
                runtime.track(loop.create_task(work(index)))

        try:
            while True:
                if run.fatal is not None:
                    raise run.fatal
                if run.orphaned or run.tracker.check().is_done:
                    break
                admitted: list[int] = []
                index = run.admit()
                while index is not None:
                    admitted.append(index)
                    index = run.admit()
                if admitted:
                    start(admitted)
                    continue
                now = run.clock.time()
                if run.resume_times and run.resume_times[0] <= now:
                    due = sorted(run.take_due(now))
                    run.running += len(due)
                    # One empty checkpoint brings the service's view (timers fired) into
                    # the state; the wave then replays in index order.
                    await runtime.state.acheckpoint(None)
                    start(due)
                    continue
                if run.running == 0:
                    label = self.runner.label
                    if run.resume_times:
                        raise TimedSuspendExecution(
                            f"every running branch of {label} is suspended", run.resume_times[0]
                        )
                    raise SuspendExecution(f"every running branch of {label} is suspended")
                wake.clear()
                timeout = max(run.resume_times[0] - now, 0.0) if run.resume_times else None
                try:
                    async with asyncio.timeout(timeout):
                        await wake.wait()
                except TimeoutError:
                    pass
            run.stopped = True
            return self._result(run)
        finally:
            run.stopped = True

    def _result(self, run: RunState) -> BatchResult[Any]:
        return batch_result(self.branches, run.tracker, run.results, run.errors, run.tracker.check().reason)


__all__ = ["AsyncConcurrentExecutor", "TaskRuntime"]
