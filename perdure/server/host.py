"""`EngineHost`: an `Engine` served over HTTP, as `perdure serve` runs it.

The host starts the engine's background loop (timers fire and executions are invoked
without anyone driving them), serves the engine's service through `LambdaApi`, and bounds
a synchronous `Invoke`: it waits for the execution to end for at most `sync_timeout`
seconds, then answers 202 with the running execution's ARN in
`X-Amz-Durable-Execution-Arn` (the execution carries on; poll `GetDurableExecution`).
Work another process writes to the same database file (`perdure callback --db`) is
picked up by the engine loop itself (see `perdure.engine.scheduler`). `stop()` releases waiting
invokes, lets running invocations finish (they may still checkpoint over HTTP), then
closes the socket.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from perdure.engine import Engine
from perdure.wire.types import ExecutionStatus, GetDurableExecutionRequest

from .api import LambdaApi
from .http import DEFAULT_HOST, DEFAULT_PORT, ApiServer

DEFAULT_SYNC_TIMEOUT_SECONDS = 50.0
"""How long a RequestResponse `Invoke` waits for its execution. Below botocore's default
60 s read timeout, so a default boto3 client gets the ARN instead of timing out and
retrying (a retried unnamed Invoke would start a second execution)."""

_POLL_FIRST = 0.002
_POLL_MAX = 0.1


class EngineHost:
    """Hosts `engine` on `host:port` (port 0: an ephemeral port, see `url`).

    Args:
        engine: the engine to serve; its functions are registered by the caller.
        host, port: where to listen (the socket is bound here: OSError if taken).
        sync_timeout: seconds a RequestResponse `Invoke` waits before answering 202.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        sync_timeout: float = DEFAULT_SYNC_TIMEOUT_SECONDS,
    ) -> None:
        if sync_timeout < 0:
            raise ValueError("sync_timeout must be >= 0")
        self.engine = engine
        self.sync_timeout = sync_timeout
        self._stopping = threading.Event()
        # The engine's `invoke` calls this hook for RequestResponse; by default it drives
        # the execution on the caller's thread with no bound. Here the background loop
        # runs it, and the hook only waits, boundedly.
        engine.service.run_to_completion = self.await_end
        self.api = LambdaApi(engine.service)
        self.server = ApiServer(self.api, host, port)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        """Start the engine's background loop, then accept requests."""
        self._stopping.clear()
        self.engine.start()
        self.server.start()

    def stop(self) -> None:
        """Release waiting invokes, stop the engine loop (running invocations finish), close
        the socket. The engine itself stays open: the caller closes it."""
        self._stopping.set()
        self.engine.stop()
        self.server.stop()

    def await_end(self, arn: str) -> None:
        """Return when execution `arn` has ended, `sync_timeout` has passed, or the host stops."""
        deadline = time.monotonic() + self.sync_timeout
        delay = _POLL_FIRST
        while not self._stopping.is_set():
            execution = self.engine.service.get_durable_execution(GetDurableExecutionRequest(arn))
            if execution.status is not ExecutionStatus.RUNNING:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._stopping.wait(min(delay, remaining))
            delay = min(delay * 2, _POLL_MAX)

    def serve_until_signalled(self, on_started: Callable[[], None] | None = None) -> int:
        """Serve until SIGINT or SIGTERM (call from the main thread), then stop gracefully.

        A second signal while stopping is not caught again: SIGINT then raises
        `KeyboardInterrupt` as usual. Returns the signal number that ended serving.
        """
        received: list[int] = []
        done = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            received.append(signum)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            done.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            if on_started is not None:
                on_started()
            while not done.wait(0.5):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return received[0] if received else 0
