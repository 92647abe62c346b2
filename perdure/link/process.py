"""The process-isolation link: each invocation runs in a worker subprocess.

Workers (`perdure.link.worker`) load the target once and serve invocations one at a
time; a pool keeps idle workers for reuse and starts a new one when all are busy. While
an invocation runs, the parent answers the worker's checkpoint and get-state calls on the
engine's service and forwards its log lines to a sink. A worker that exits before
returning an output (`os._exit`, a signal, an interpreter crash) is reported by raising
`InvocationCrashed(ErrorObject(error_type="Runtime.ExitError"))`, as Lambda reports it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from perdure.engine.invoker import InvocationCrashed, crash_error
from perdure.wire.codec import from_wire, to_wire
from perdure.wire.errors import PerdureError, ServiceError
from perdure.wire.service import DurableServiceClient
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    GetDurableExecutionStateRequest,
    InvocationInput,
    InvocationOutput,
)

from .inprocess import decode_output
from .logs import LogSink, line_to_dict
from .protocol import TIMESTAMPS, LineChannel, ProtocolError, context_to_dict

_REQUEST_TYPES: dict[str, type[Any]] = {
    "checkpoint_durable_execution": CheckpointDurableExecutionRequest,
    "get_durable_execution_state": GetDurableExecutionStateRequest,
}
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class WorkerStartError(PerdureError):
    """The worker could not load the target."""


class HandlerRaisedError(PerdureError):
    """The handler raised in the worker (a function error, retried by the engine)."""

    def __init__(self, error_type: str, message: str, stack: list[str]) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.error_message = message
        self.stack = stack


class _Worker:
    def __init__(self, target: str, *, compat: bool, env: dict[str, str] | None) -> None:
        environment = dict(os.environ if env is None else env)
        path = environment.get("PYTHONPATH", "")
        environment["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + path if path else "")
        command = [sys.executable, "-m", "perdure.link.worker", target]
        if compat:
            command.append("--compat")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=environment,
            bufsize=1,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.channel = LineChannel(self.process.stdout, self.process.stdin)
        hello = self.channel.receive()
        # What the target prints or logs while it is imported arrives before "ready".
        while hello is not None and hello.get("op") in ("log", "print"):
            hello = self.channel.receive()
        if hello is None or hello.get("op") != "ready":
            message = (hello or {}).get("message") or f"worker exited with status {self.process.wait()}"
            self.close()
            raise WorkerStartError(f"cannot load {target}: {message}")
        self.is_durable_handler = bool(hello.get("durable", True))
        """Whether the target carries `@durable_execution` (the worker wraps it if not)."""

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class ProcessInvocable:
    """An engine `Invocable` that runs `target` in worker subprocesses."""

    def __init__(
        self,
        target: str,
        client: DurableServiceClient,
        *,
        log_sink: LogSink | None = None,
        compat: bool = True,
        env: dict[str, str] | None = None,
    ) -> None:
        self.target = target
        self.client = client
        self.log_sink = log_sink
        self.compat = compat
        self.env = env
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self.is_durable_handler: bool | None = None
        """Whether the target carries `@durable_execution`, once `start` has loaded it."""

    def start(self) -> None:
        """Start one worker now, so a target that cannot load fails here (WorkerStartError)."""
        worker = _Worker(self.target, compat=self.compat, env=self.env)
        self.is_durable_handler = worker.is_durable_handler
        self._release(worker)

    def _acquire(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    return worker
                worker.close()
        return _Worker(self.target, compat=self.compat, env=self.env)

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            if self._closed or not worker.alive:
                worker.close()
            else:
                self._idle.append(worker)

    def close(self) -> None:
        """Stop every idle worker."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()

    def __call__(self, input: InvocationInput, context: Any) -> InvocationOutput:
        worker = self._acquire()
        arn = input.durable_execution_arn
        try:
            worker.channel.send(
                {
                    "op": "invoke",
                    "input": to_wire(input, timestamps=TIMESTAMPS),
                    "context": context_to_dict(context),
                }
            )
            while True:
                message = worker.channel.receive()
                if message is None:
                    raise self._crashed(worker)
                op = message.get("op")
                if op == "call":
                    worker.channel.send(self._serve(message))
                elif op == "log":
                    self._emit(arn, dict(message.get("record") or {}))
                elif op == "print":
                    # Stamped when the worker printed it, not when it is read here: the logging
                    # records the worker makes meanwhile carry their own, earlier, times.
                    stamp = message.get("timestamp")
                    record = line_to_dict(
                        str(message.get("line", "")), float(stamp) if isinstance(stamp, int | float) else None
                    )
                    self._emit(arn, record)
                elif op == "result":
                    self._release(worker)
                    return decode_output(message.get("output"))
                elif op == "raised":
                    self._release(worker)
                    error = message.get("error") or {}
                    raise HandlerRaisedError(
                        str(error.get("type", "Exception")),
                        str(error.get("message", "")),
                        list(error.get("stack", [])),
                    )
        except (BrokenPipeError, ProtocolError, OSError) as exc:
            raise self._crashed(worker, detail=str(exc)) from None

    def _emit(self, arn: str, record: dict[str, Any]) -> None:
        if self.log_sink is not None:
            self.log_sink.emit(arn, record)

    def _crashed(self, worker: _Worker, detail: str = "") -> InvocationCrashed:
        worker.close()
        code = worker.process.returncode
        status = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
        message = f"Runtime exited with error: {status}" + (f" ({detail})" if detail else "")
        return InvocationCrashed(crash_error(message))

    def _serve(self, message: dict[str, Any]) -> dict[str, Any]:
        method = str(message.get("method"))
        request_type = _REQUEST_TYPES.get(method)
        if request_type is None:
            return {
                "op": "reply",
                "error": {"code": "InvalidParameterValueException", "message": f"no method {method}"},
            }
        try:
            request = from_wire(request_type, message.get("request") or {}, timestamps=TIMESTAMPS)
            response = getattr(self.client, method)(request)
        except ServiceError as exc:
            return {"op": "reply", "error": {"code": exc.code, "message": exc.message}}
        except ValueError as exc:
            return {"op": "reply", "error": {"code": "InvalidParameterValueException", "message": str(exc)}}
        except Exception as exc:
            return {
                "op": "reply",
                "error": {"code": "ServiceException", "message": f"{type(exc).__name__}: {exc}"},
            }
        return {"op": "reply", "response": to_wire(response, timestamps=TIMESTAMPS)}
