"""The checkpoint writer: one background thread that batches operation updates.

Owns `CheckpointBatcher`. Callers hand it `OperationUpdate`s; async ones (step START under
at-least-once, context START) return at once, sync ones block until the request carrying
them is persisted and its response merged into the `ExecutionState`. Imports only
`perdure.wire`, `perdure.sdk.errors`, `perdure.sdk.state` and the standard library.

Batching rules:
- at most 250 updates and 750 KiB per request (each update's size is estimated cheaply,
  a reserve is kept for the request envelope; an update too large on its own goes alone);
- order is preserved; every sync waiter is released exactly once;
- a batch holding a sync caller is sent as soon as the queue is drained, unless more sync
  callers are expected: when a response releases k waiters while j more are queued, k + j
  threads were blocked at once, so the next batch waits for that many sync callers while
  updates keep arriving (at most `sync_gap_seconds` apart, `sync_linger_seconds` in
  total). Concurrent branches that each block on a sync update then share one request
  (one fsync on a local store) instead of alternating between two half-full requests; a
  single caller (k + j = 1) never waits;
- async-only work may accumulate while updates keep arriving (the sender checks every
  100 ms and sends after a check that found nothing new, or after 1 s in total), so a
  step's async START usually rides in the request of its SUCCEED. An idle sender looks
  for async work instead of being woken for it: after 100 ms, then after pauses twice as
  long each time it found nothing, up to 1 s. It is woken only when that
  changes what it does: by a first sync caller, or when every sync caller it expects has
  arrived (fewer thread switches under the GIL); and once: the callers that queue before
  it runs do not notify it again;
- a lone sync caller sends its own request: when the sender holds no batch (it is idle,
  or has released the waiters of its last request), no request is in flight, no other sync caller is queued or expected and the queue fits one request, the
  caller takes the queue and sends it on its own thread (the in-process link then runs the
  engine, and its commit, there). It returns, as any sync caller, only once the response
  has been merged, so only after the commit holding its update is durable; what it saves
  is the two thread hand-offs (caller to sender and back) of every sequential step. An
  async caller does the same when its task is the only one on its event loop
  (`acheckpoint_alone`) and the client answers in this process (it says so with a true
  `answers_in_process` attribute, as the in-process link's does: the engine commits and
  answers without waiting on perdure's loop): the send then blocks a loop that has
  nothing else to run for one local commit, and saves the hand-offs and the loop's
  wake-up. To any other client (a remote service, whose round trip and retries could
  hold the loop for long; a client that might wait on the loop itself) it queues.

Responses: the checkpoint token is chained from each response. A response without a token
means the execution completed (when the request carried an EXECUTION update) or the token
was revoked: then waiters and later callers get `SuspendExecution` and the invocation
returns PENDING. A failed request fails every waiter and every later call with a
`BackgroundThreadError` carrying a classified `CheckpointError`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import threading
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from perdure.wire.limits import MAX_CHECKPOINT_REQUEST_BYTES, MAX_CHECKPOINT_UPDATES, ascii_json_length
from perdure.wire.service import DurableServiceClient
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    OperationAction,
    OperationType,
    OperationUpdate,
)

from .errors import (
    BackgroundThreadError,
    CheckpointError,
    OrphanedChildException,
    SuspendExecution,
)
from .state import ExecutionState, fetch_state_pages
from .threads import Job, spawn

if TYPE_CHECKING:
    import asyncio

ENVELOPE_RESERVE_BYTES = 8 * 1024
"""Kept free in each request for the ARN, the token and the JSON around the updates."""
_UPDATE_OVERHEAD_BYTES = 200
"""Member names and punctuation of one update, besides its variable strings."""


_SHORT_TEXT = 64
"""Text up to this many characters is counted at its worst case, 12 bytes a character (a
character outside the BMP escaped as two \\uXXXX): cheaper than measuring it, for at most
~1.5 KiB of slack per update (a name and a payload)."""


def _text_bytes(text: str | None) -> int:
    if not text:
        return 0
    if len(text) <= _SHORT_TEXT:
        return 12 * len(text)
    size = ascii_json_length(text)
    if size is not None:
        return size
    # boto3 (botocore's JSON serializer, ensure_ascii) sends every non-ASCII character as
    # \uXXXX (two of them outside the BMP: 6 or 12 bytes, not its 2-4 UTF-8 bytes) and every
    # control character escaped, so such text is measured exactly as the request carries it
    # (tests/property/test_batcher.py): a request of non-ASCII payloads stays under 750 KiB.
    return len(json.dumps(text)) - 2


def estimate_update_bytes(update: OperationUpdate) -> int:
    """An upper estimate of the update's size in the request JSON (bytes as boto3 sends them)."""
    size = (
        _UPDATE_OVERHEAD_BYTES
        + len(update.id)
        + len(update.parent_id or "")
        + _text_bytes(update.name)
        + len(update.sub_type or "")
        + _text_bytes(update.payload)
    )
    error = update.error
    if error is not None:
        size += (
            80
            + _text_bytes(error.error_message)
            + _text_bytes(error.error_type)
            + _text_bytes(error.error_data)
        )
        for line in error.stack_trace or ():
            size += _text_bytes(line) + 4
    options = update.chained_invoke_options
    if options is not None:
        # The invoke options' strings count too.
        size += (
            _text_bytes(options.function_name)
            + _text_bytes(options.tenant_id)
            + _text_bytes(options.x_amzn_trace_id)
        )
    return size


class _Waiter:
    """One sync caller: released exactly once, with an error or without.

    A bare lock held from creation until the release (cheaper than an `Event`, which
    allocates a condition and a lock per wait); only the sender thread releases.
    """

    __slots__ = ("_lock", "error", "released")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self.released = False
        self.error: BaseException | None = None

    def release(self, error: BaseException | None = None) -> None:
        if not self.released:
            self.released = True
            self.error = error
            self._lock.release()

    def wait(self) -> None:
        self._lock.acquire()


_PENDING, _DONE, _CANCELLED = 0, 1, 2


class Acknowledgement:
    """An async caller's wait for its update, awaited by a task of the caller's loop.

    It speaks the protocol asyncio's `Task` uses with any future (`_asyncio_future_blocking`,
    `get_loop`, `add_done_callback`, `result`, `cancel`), but its release wakes the awaiting
    task within the loop callback that releases it (`_resolve`), where an `asyncio.Future`
    schedules the wake-up for a later turn of the loop: a turn of the loop fewer per wait.
    A cancellation schedules the wake-up, as a future's does, and a release after it does
    nothing: the task is woken once. Released before it is awaited, it is awaited at once.
    """

    __slots__ = ("_asyncio_future_blocking", "_callbacks", "_error", "_loop", "_state")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._state = _PENDING
        self._error: BaseException | None = None
        self._callbacks: list[tuple[Callable[[Any], object], contextvars.Context | None]] = []
        self._asyncio_future_blocking = False

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def done(self) -> bool:
        return self._state != _PENDING

    def cancelled(self) -> bool:
        return self._state == _CANCELLED

    def result(self) -> None:
        """Return when the update is merged; raise the writer's error or the cancellation."""
        if self._state == _PENDING:
            raise RuntimeError("the acknowledgement is not released yet")
        if self._error is not None:
            raise self._error

    def exception(self) -> BaseException | None:
        if self._state != _DONE:
            self.result()  # not released yet, or cancelled: raises as a future's does
        return self._error

    def add_done_callback(
        self, fn: Callable[[Any], object], *, context: contextvars.Context | None = None
    ) -> None:
        if self._state == _PENDING:
            self._callbacks.append((fn, context))
        else:
            self._loop.call_soon(fn, self, context=context)

    def remove_done_callback(self, fn: Callable[[Any], object]) -> int:
        """As a future's: drop `fn` from the callbacks; how many were dropped (so
        `asyncio.wait`, `shield` and `gather` can be handed one too)."""
        kept = [(f, context) for f, context in self._callbacks if f != fn]
        dropped, self._callbacks = len(self._callbacks) - len(kept), kept
        return dropped

    def cancel(self, msg: Any | None = None) -> bool:
        """Cancel the wait (its task was cancelled): the task is woken in a later turn."""
        if self._state != _PENDING:
            return False
        import asyncio  # loaded: the caller's loop runs

        self._state = _CANCELLED
        self._error = asyncio.CancelledError() if msg is None else asyncio.CancelledError(msg)
        callbacks, self._callbacks = self._callbacks, []
        for fn, context in callbacks:
            self._loop.call_soon(fn, self, context=context)
        return True

    def release_now(self, error: BaseException | None) -> None:
        """Release the wait and wake its task now (on the loop's thread, in a loop callback,
        never inside a task: the task's step runs here)."""
        if self._state != _PENDING:  # cancelled by its awaiter
            return
        self._state = _DONE
        self._error = error
        callbacks, self._callbacks = self._callbacks, []
        for fn, context in callbacks:
            if context is None:
                fn(self)
            else:
                context.run(fn, self)

    def __await__(self) -> Generator[Any, None, None]:
        if self._state == _PENDING:
            self._asyncio_future_blocking = True
            yield self
        self.result()

    __iter__ = __await__


class _LoopWaiter:
    """One async caller: an `Acknowledgement` of its event loop, released from the sender thread.

    The sender releases the loop waiters of one response together (`_release_on_loops`):
    one thread-safe call, so one wake-up of the loop, per loop and response.
    """

    __slots__ = ("ack", "error", "released")

    def __init__(self, ack: Acknowledgement) -> None:
        self.ack = ack
        self.released = False
        self.error: BaseException | None = None

    def release(self, error: BaseException | None = None) -> None:
        _release_on_loops([self], error)


def _release_on_loops(waiters: list[_LoopWaiter], error: BaseException | None) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[Acknowledgement]] = {}
    for waiter in waiters:
        if not waiter.released:
            waiter.released = True
            waiter.error = error
            ack = waiter.ack
            by_loop.setdefault(ack._loop, []).append(ack)
    for loop, acks in by_loop.items():
        # A closed loop raises RuntimeError: nobody awaits the acknowledgements any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, acks, error)


def _resolve(acks: list[Acknowledgement], error: BaseException | None) -> None:
    for position, ack in enumerate(acks):
        try:
            ack.release_now(error)
        except BaseException:
            # A task's step let an error through (KeyboardInterrupt): the other waits are
            # still released, in the next turn of the loop.
            ack._loop.call_soon(_resolve, acks[position + 1 :], error)
            raise


class _Sent:
    """The waiter of a lone caller that sends its own request: it learns the outcome when
    the send returns (`CheckpointBatcher._send_here`)."""

    __slots__ = ()

    def release(self, error: BaseException | None = None) -> None:
        pass


_SENT = _Sent()

_ASYNC, _SYNC, _LOOP, _ALONE = range(4)
"""What queues an update (`CheckpointBatcher._enqueue`): an async update; a blocking sync
caller; an awaiting one; an awaiting one alone on its loop (it may send its own request)."""


def _revoked() -> SuspendExecution:
    return SuspendExecution("the checkpoint token was revoked; the invocation stops")


@dataclass(slots=True)
class _Item:
    update: OperationUpdate | None  # None: an empty "refresh" request
    size: int
    waiter: _Waiter | _LoopWaiter | _Sent | None


_SIZE = attrgetter("size")


@dataclass
class BatcherLimits:
    """Request caps and timing of the checkpoint writer."""

    max_updates: int = MAX_CHECKPOINT_UPDATES
    max_bytes: int = MAX_CHECKPOINT_REQUEST_BYTES - ENVELOPE_RESERVE_BYTES
    max_batch_seconds: float = 1.0
    async_linger_seconds: float = 0.1
    sync_linger_seconds: float = 0.002
    """Longest wait, holding a sync caller, for the other sync callers expected."""
    sync_gap_seconds: float = 0.0005
    """Holding a sync caller, the batch is sent once no update arrived for this long."""


# Enum members read on the hot path are globals: on Python 3.11 a read from the enum class
# goes through `EnumType.__getattr__`, about ten times the cost.
_START = OperationAction.START
_CONTEXT = OperationType.CONTEXT
_ENDS = (OperationAction.SUCCEED, OperationAction.FAIL)


@dataclass
class _Orphans:
    """Which operations may no longer checkpoint because an enclosing context completed."""

    children: dict[str, list[str]] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)

    def note(self, update: OperationUpdate) -> None:
        if update.parent_id is not None and update.action is _START:
            self.children.setdefault(update.parent_id, []).append(update.id)
        if update.type is _CONTEXT and update.action in _ENDS:
            pending = [update.id]
            while pending:
                current = pending.pop()
                self.closed.add(current)
                pending.extend(self.children.pop(current, ()))

    def is_orphaned(self, update: OperationUpdate) -> bool:
        closed = self.closed
        if not closed:
            return False
        if update.parent_id in closed:
            closed.add(update.id)
            return True
        return update.id in closed


class CheckpointBatcher:
    """Sends the updates of one invocation, in order, from one background thread.

    Args:
        client: the durable-execution service.
        state: the replay state that every response is merged into.
        checkpoint_token: the invocation's first checkpoint token.
        limits: request caps and timing.
    """

    def __init__(
        self,
        client: DurableServiceClient,
        state: ExecutionState,
        checkpoint_token: str,
        limits: BatcherLimits | None = None,
    ) -> None:
        self._client = client
        self._state = state
        self._clock = state.clock
        self._arn = state.durable_execution_arn
        self._token = checkpoint_token
        self._limits = limits or BatcherLimits()
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        """Entered as `self._lock` on the hot path (`Condition.__enter__` is a Python call)."""
        self._queue: deque[_Item] = deque()
        self._queued_sync = 0
        """Sync items in `_queue`."""
        self._idle = False
        """The sender waits for a first item."""
        self._busy = False
        """The sender holds a batch: from taking its first item until its waiters are released."""
        self._inflight = False
        """A caller is sending a request on its own thread (`_send_here`)."""
        self._woken = False
        """A caller has notified the sender since it last began to wait."""
        self._gathered = 0
        """Sync items in the batch the sender is collecting."""
        self._expected_sync = 1
        """Sync callers blocked at once when the last response arrived (see the module doc)."""
        self._stopping = False
        self._failure: BackgroundThreadError | None = None
        self._orphans = _Orphans()
        self._collecting: list[_Item] = []
        """The batch being collected or sent (the writer fails its waiters if it breaks)."""
        self.revoked = False
        """The service answered without a token to a request without an EXECUTION update."""
        self.execution_completed = False
        """The service answered without a token to a request with an EXECUTION update."""
        self.requests_sent = 0
        self._alone = _ALONE if getattr(client, "answers_in_process", False) is True else _LOOP
        """How `acheckpoint_alone` queues: a lone task sends its own request only to a
        client that answers in this process (module doc)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = -1
        self._wake_scheduled = False
        self._sender: Job | None = None

    # ----------------------------------------------------------------- producer side

    @property
    def checkpoint_token(self) -> str:
        """The latest checkpoint token."""
        return self._token

    @property
    def failure(self) -> BackgroundThreadError | None:
        """The error that stopped the writer, if one did."""
        return self._failure

    def start(self) -> CheckpointBatcher:
        """Start the sender, on a thread kept from an earlier invocation's sender if one waits."""
        if self._sender is not None:
            raise RuntimeError("the checkpoint writer is already started")
        self._sender = spawn(self._run, "perdure-checkpoint")
        return self

    def serve_loop(self, loop: asyncio.AbstractEventLoop, thread_id: int) -> None:
        """Let async updates queued on `loop` (running on thread `thread_id`) wake the
        sender from a callback of the loop instead of at once.

        An async face's operation queues its async START, then its body runs in a later
        turn of the loop, after the loop has polled for I/O (and let the sender run): woken
        at once, the sender would send the START alone and be woken again for the SUCCEED.
        Woken by a callback queued behind the body's turn, it usually finds both.
        """
        self._loop = loop
        self._loop_thread = thread_id

    def _wake_later(self) -> None:
        with self._lock:
            self._wake_scheduled = False
            if self._queue and not self._woken and (self._idle or self._stopping):
                self._woken = True
                self._cond.notify()

    def checkpoint(self, update: OperationUpdate | None, *, sync: bool) -> None:
        """Queue `update`; with `sync`, block until it is persisted and merged.

        `None` asks for a request without updates (a "refresh" that fetches the latest
        state, e.g. to learn that a timer fired while the invocation kept running).

        Raises:
            BackgroundThreadError: checkpointing failed (its `source_exception` is a
                `CheckpointError`).
            SuspendExecution: the checkpoint token was revoked.
            OrphanedChildException: the enclosing context (or the execution) completed.
        """
        if not sync:
            self._enqueue(update, _ASYNC)
            return
        waiter = self._enqueue(update, _SYNC)
        if type(waiter) is list:
            error = self._send_here(waiter)
            if error is not None:
                raise error
            return
        assert type(waiter) is _Waiter
        waiter.wait()
        if waiter.error is not None:
            raise waiter.error

    def acheckpoint(self, update: OperationUpdate | None) -> Acknowledgement:
        """Queue `update` as a sync update whose acknowledgement is awaited, not blocked on.

        Returns:
            An acknowledgement for the running loop, done once the update is persisted and
            merged (or failed with the error `checkpoint` would raise).
        """
        import asyncio  # only the async face calls this: sync handlers never load asyncio

        waiter = self._enqueue(update, _LOOP, asyncio.get_running_loop())
        assert type(waiter) is _LoopWaiter
        return waiter.ack

    def acheckpoint_alone(
        self, update: OperationUpdate | None, loop: asyncio.AbstractEventLoop
    ) -> Acknowledgement | None:
        """`acheckpoint` for a task alone on `loop`, the running loop: a lone caller sends its own request,
        as a sync one does (module doc), and then there is nothing to await (None); only
        to a client that answers in this process (module doc), else as `acheckpoint`.

        Raises:
            As `checkpoint`, for an update sent here.
        """
        waiter = self._enqueue(update, self._alone, loop)
        if type(waiter) is list:
            error = self._send_here(waiter)
            if error is not None:
                raise error
            return None
        assert type(waiter) is _LoopWaiter
        return waiter.ack

    def _enqueue(
        self, update: OperationUpdate | None, kind: int, loop: asyncio.AbstractEventLoop | None = None
    ) -> list[_Item] | _Waiter | _LoopWaiter | None:
        """Queue one item of `kind`: for a sync caller, its waiter (an acknowledgement on
        `loop` for an awaiting one), or the batch to send on its own thread if it is a lone
        caller's turn to send (module doc, `_SENT`); None for an async update."""
        item = _Item(update, estimate_update_bytes(update) if update else 0, None)
        with self._lock:
            if update is not None:
                self._refuse_if_closed(update)
                self._orphans.note(update)
            else:
                self._refuse_if_closed(
                    OperationUpdate("refresh", OperationType.EXECUTION, OperationAction.START)
                )
            queue = self._queue
            queue.append(item)
            if kind == _ASYNC:
                if (
                    self._loop is not None
                    and self._idle
                    and not self._wake_scheduled
                    and not self._woken
                    and threading.get_ident() == self._loop_thread
                ):  # see `serve_loop`
                    self._wake_scheduled = True
                    self._loop.call_soon(self._wake_later)
                # Otherwise an idle sender finds it on its next look, and a lingering one on
                # its timer, and keeps what arrived (module doc).
                return None
            self._queued_sync += 1
            if (
                kind != _LOOP
                and not self._busy
                and not self._inflight
                and self._queued_sync == 1
                and self._expected_sync == 1
                and len(queue) <= self._limits.max_updates
                and (len(queue) == 1 or sum(map(_SIZE, queue)) <= self._limits.max_bytes)
            ):
                item.waiter = _SENT
                batch = list(queue)
                queue.clear()
                self._queued_sync = 0
                self._inflight = True
                return batch
            waiter = _Waiter() if loop is None else _LoopWaiter(Acknowledgement(loop))
            item.waiter = waiter
            if not self._woken and (
                self._idle
                or self._stopping
                or not self._gathered
                or self._gathered + self._queued_sync >= self._expected_sync
            ):
                # Once: the callers that queue before the sender runs find it already woken.
                self._woken = True
                self._cond.notify()
            return waiter

    def _send_here(self, batch: list[_Item]) -> BaseException | None:
        """Send `batch`, a lone caller's, on the calling thread; the error its waiter
        (`_SENT`) would have been given: read before the sender may send again, so it is
        this request's own."""
        outcome: BaseException | None = None
        try:
            self._send(batch)
        except BaseException as exc:  # `_send` handles Exception; e.g. KeyboardInterrupt
            # What the service applied is unknown: the writer stops, as after a failed request.
            self._stop_failed(batch, RuntimeError(f"the checkpoint was interrupted: {exc!r}"))
            raise
        finally:
            with self._lock:
                if self._failure is not None:
                    outcome = self._failure
                elif self.revoked:
                    outcome = _revoked()
                self._inflight = False
                if (self._queue or self._stopping) and not self._woken:
                    # Items that arrived meanwhile are the sender's.
                    self._woken = True
                    self._cond.notify()
        return outcome

    def _refuse_if_closed(self, update: OperationUpdate) -> None:
        if self._failure is not None:
            raise self._failure
        if self.revoked:
            raise _revoked()
        if self.execution_completed:
            raise OrphanedChildException("the execution has already completed", update.id)
        if self._orphans.closed and self._orphans.is_orphaned(update):
            raise OrphanedChildException(
                f"operation {update.id} belongs to a context that has already completed", update.id
            )
        if self._stopping:
            raise RuntimeError("the checkpoint writer is closed")

    def close(self) -> None:
        """Send what is queued, then stop the sender and wait until it has stopped."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._sender is not None:
            self._sender.wait()

    # ----------------------------------------------------------------- sender side

    def _run(self) -> None:
        try:
            while True:
                batch = self._collect()
                if batch is None:
                    return
                if not self._send(batch):
                    return
        except Exception as exc:
            # A fault of the writer itself, not of a request (`_send` handles those): the
            # callers waiting on it, or queued behind it, fail instead of waiting forever.
            self._stop_failed(self._collecting, exc)

    def _collect(self) -> list[_Item] | None:
        limits = self._limits
        queue = self._queue
        with self._cond:
            pause = limits.async_linger_seconds
            while not queue or self._inflight:
                if self._stopping and not queue and not self._inflight:
                    return None
                self._idle = True
                self._woken = False
                # Async work does not wake an idle sender (`_enqueue`): it looks after every
                # pause, a pause twice as long (up to `max_batch_seconds`) each time it looked
                # and found nothing, so many idle writers cost few wake-ups.
                if not self._cond.wait(pause):
                    pause = min(2 * pause, limits.max_batch_seconds)
                self._idle = False
            batch: list[_Item] = []
            self._collecting = batch
            self._busy = True
            size = 0
            syncs = self._gathered = 0
            started = self._clock.monotonic()
            deadline = started + limits.max_batch_seconds
            sync_deadline = 0.0
            while True:
                while queue:
                    item = queue[0]
                    if batch and size + item.size > limits.max_bytes:
                        return batch
                    queue.popleft()
                    batch.append(item)
                    size += item.size
                    if item.waiter is not None:
                        self._queued_sync -= 1
                        if not syncs:
                            sync_deadline = self._clock.monotonic() + limits.sync_linger_seconds
                        syncs += 1
                        self._gathered = syncs
                    if len(batch) >= limits.max_updates:
                        return batch
                if self._stopping:
                    return batch
                now = self._clock.monotonic()
                if syncs:
                    # Hold the sync callers only while more of them are expected.
                    if syncs >= self._expected_sync:
                        return batch
                    remaining = min(sync_deadline - now, limits.sync_gap_seconds)
                else:
                    remaining = min(deadline - now, limits.async_linger_seconds)
                if remaining <= 0:
                    return batch
                self._woken = False
                self._cond.wait(remaining)
                if not queue:
                    return batch

    def _send(self, batch: list[_Item]) -> bool:
        with self._lock:
            self._gathered = 0
        updates = tuple([item.update for item in batch if item.update is not None])
        try:
            # Positional (ARN, token, updates): a class called with keywords first packs them
            # into a dict on Python 3.11.
            request = CheckpointDurableExecutionRequest(self._arn, self._token, updates)
            response = self._client.checkpoint_durable_execution(request)
            self.requests_sent += 1
            new_state = response.new_execution_state
            self._state.merge(new_state.operations)
            token = response.checkpoint_token
            if token is None:
                if any(update.type is OperationType.EXECUTION for update in updates):
                    with self._cond:
                        self.execution_completed = True
                    self._release(batch, None)
                    return True
                self._stop_revoked(batch)
                return False
            self._token = token
            if new_state.next_marker:
                self._state.merge(fetch_state_pages(self._client, self._arn, token, new_state.next_marker))
        except Exception as exc:
            self._stop_failed(batch, exc)
            return False
        self._release(batch, None)
        return True

    def _release(self, batch: list[_Item], error: BaseException | None) -> None:
        waiters = [item.waiter for item in batch if item.waiter is not None]
        with self._lock:
            # Counted before the release: a released caller may queue again at once (and
            # send its own request: the sender holds no batch any more).
            self._expected_sync = max(len(waiters) + self._queued_sync, 1)
            self._busy = False
        on_loops: list[_LoopWaiter] = []
        for waiter in waiters:
            if type(waiter) is _LoopWaiter:
                on_loops.append(waiter)
            else:
                waiter.release(error)
        if on_loops:
            _release_on_loops(on_loops, error)

    def _drain(self) -> list[_Item]:
        with self._cond:
            rest = list(self._queue)
            self._queue.clear()
            self._queued_sync = 0
            self._stopping = True
        return rest

    def _stop_revoked(self, batch: list[_Item]) -> None:
        with self._cond:
            self.revoked = True
        self._release(batch + self._drain(), _revoked())

    def _stop_failed(self, batch: list[_Item], exc: Exception) -> None:
        if isinstance(exc, CheckpointError):
            cause: CheckpointError = exc
        else:
            cause = CheckpointError.from_exception(exc, f"CheckpointDurableExecution failed: {exc}")
            cause.__cause__ = exc
        failure = BackgroundThreadError(f"checkpointing failed: {cause}", cause)
        with self._cond:
            self._failure = failure
        self._release(batch + self._drain(), failure)
