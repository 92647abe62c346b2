"""`ApiServer`: the socket side of `perdure serve`, an ASGI app on uvicorn (HTTP/1.1, h11).

The app reads one request, refuses it early when it may not be served (`Guard`: Host,
Origin, Content-Type, the signature's presence and date; a body over its route's limit;
no room in the memory budget within `body_timeout`), reads the whole body within `body_timeout`,
checks the SigV4 signature over it, and only then hands it to `LambdaApi.handle` on a
bounded thread pool. A client that disconnects before its body is complete changes
nothing: the request is dropped unread. A synchronous `Invoke` then waits for its
execution on the event loop (a future from the engine), holding no thread.

uvicorn's h11 protocol is subclassed for two bounds it lacks: a connection that has not
completed a request's headers within `idle_timeout` (fresh, between requests, or stalled
in its headers) is closed, and connections beyond `max_connections` are closed on accept;
and a client that closes its sending side after a request still gets the answer.

Imports uvicorn (the `server` extra; `perdure.server.http` is imported only when a
server is built), the standard library and `perdure.server`/`perdure.wire`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from perdure.wire.errors import (
    InvalidRequestContentError,
    RequestTooLargeError,
    ServiceError,
    TooManyRequestsError,
)
from perdure.wire.limits import (
    MAX_CHECKPOINT_REQUEST_BYTES,
    MAX_OPERATION_PAYLOAD_BYTES,
    MAX_WIRE_PAYLOAD_BYTES,
)
from perdure.wire.types import ExecutionStatus

from .api import HttpRequest, HttpResponse, LambdaApi, error_response
from .errors import RequestTimeoutError
from .guard import Guard
from .host import DEFAULT_HOST, DEFAULT_PORT
from .routes import find_route

KiB = 1024
MiB = 1024 * KiB
_ESCAPED = 6
"""JSON escaping can grow a payload up to six times (a control character becomes \\u00XX;
botocore escapes every non-ASCII character too), so a JSON body holding a payload of the
service's size limit may be this many times larger."""

BODY_LIMITS: dict[str, int] = {
    "Invoke": MAX_WIRE_PAYLOAD_BYTES,  # 6 MiB, AWS's synchronous invocation quota
    "CheckpointDurableExecution": _ESCAPED * MAX_CHECKPOINT_REQUEST_BYTES + 64 * KiB,
    "StopDurableExecution": _ESCAPED * MAX_OPERATION_PAYLOAD_BYTES + 64 * KiB,
    "SendDurableExecutionCallbackSuccess": MAX_OPERATION_PAYLOAD_BYTES,
    "SendDurableExecutionCallbackFailure": _ESCAPED * MAX_OPERATION_PAYLOAD_BYTES + 64 * KiB,
    "SendDurableExecutionCallbackHeartbeat": 64 * KiB,
}
"""The largest body each route reads (bytes); refused with 413 beyond. The service checks
its own, exact limits on the decoded request (750 KiB and 250 updates per checkpoint,
256 KiB per payload; see docs/limits.md); these bound what the socket layer buffers."""
OTHER_BODY_LIMIT = 64 * KiB
"""Any other request (the GET routes, unknown paths) carries at most this much."""
EVENT_INVOKE_LIMIT = 1 * MiB
"""An `Event` (asynchronous) Invoke's payload: AWS's quota for asynchronous invocations,
1 MB since October 2025 (it was 256 KB), counted as 1,048,576 bytes as the 6 MB
synchronous quota is 6,291,456. `BODY_LIMITS["Invoke"]` is the synchronous quota."""
DECODE_FACTOR = 32
"""What a request may cost in memory, per byte of its body: the chunks as read and the
joined body (2), what decoding it as JSON builds (25 bytes per byte for `[{},{},...]`, the
worst case), and room for the decoded request and its answer. benchmarks/server_memory.py
measures a burst of such bodies against this bound."""

access_log = logging.getLogger("perdure.server.access")
logger = logging.getLogger("perdure.server")


@dataclass(frozen=True)
class ServerOptions:
    """Timeouts and bounds of the socket layer (see docs/server.md for the defaults' reasons).

    Attributes:
        idle_timeout: seconds a connection may go without completing a request's headers
            (a fresh connection, one between requests, one stalled mid-headers).
        body_timeout: seconds from a request's headers to the end of its body.
        max_connections: open connections; more are closed as they are accepted.
        workers: threads that run API calls (SQLite work); more requests wait their turn.
        memory_budget: bytes the requests in flight may use at once. A request reserves
            `DECODE_FACTOR` times its declared body size before its body is read and keeps it
            until it is answered; one that finds no room waits (its body unread) for up to
            `body_timeout`, then gets 429 TooManyRequestsException, which AWS clients retry
            after a back-off.
        graceful_timeout: seconds `stop` waits for requests in flight.
    """

    idle_timeout: float = 15.0
    body_timeout: float = 60.0
    max_connections: int = 1024
    workers: int = 8
    memory_budget: int = 256 * MiB
    graceful_timeout: float = 5.0

    def __post_init__(self) -> None:
        for name in ("idle_timeout", "body_timeout", "graceful_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")
        for name in ("max_connections", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        largest = DECODE_FACTOR * max(BODY_LIMITS.values())
        if self.memory_budget < largest:
            raise ValueError(f"memory_budget must be >= {largest} (the largest request's reservation)")


def body_limit(method: str, raw_path: str, headers: Mapping[str, str]) -> tuple[int, RequestTooLargeError]:
    """(the most bytes a request's body may hold, the 413 it gets past that): its route's
    limit, or `EVENT_INVOKE_LIMIT` for an Invoke whose `X-Amz-Invocation-Type` is `Event`."""
    found = find_route(method, raw_path)
    operation = found[0].operation if found else None
    if operation == "Invoke" and headers.get("x-amz-invocation-type") == "Event":
        return EVENT_INVOKE_LIMIT, RequestTooLargeError(
            f"Request must be smaller than {EVENT_INVOKE_LIMIT} bytes for an asynchronous (Event) Invoke"
            f" ({BODY_LIMITS['Invoke']} bytes for RequestResponse)"
        )
    limit = BODY_LIMITS.get(operation or "", OTHER_BODY_LIMIT)
    return limit, RequestTooLargeError(f"Request must be smaller than {limit} bytes for this operation")


class SyncInvokes(Protocol):
    """How the server waits for a synchronous Invoke's execution (`EngineHost` provides it)."""

    timeout: float

    def take(self) -> str | None:
        """On the thread that just ran `LambdaApi.handle`: the ARN of the execution a
        RequestResponse Invoke left to wait for (None: none), forgotten as it is returned."""

    def when_finished(self, arn: str) -> concurrent.futures.Future[ExecutionStatus]:
        """A future resolved when `arn` has ended."""

    def answer(self, arn: str) -> HttpResponse:
        """The Invoke's answer for `arn` now (run on a worker thread)."""


class ConsoleRoutes(Protocol):
    """Routes served beside the Lambda API with a login of their own (`perdure.console.Console`)."""

    @property
    def auth(self) -> ConsoleLogin: ...

    def owns(self, path: str) -> bool:
        """Whether the raw path (no query) is served here rather than by the Lambda API."""

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer a request to one of these routes (run on a worker thread); never raises."""


class ConsoleLogin(Protocol):
    def signed_in(self, method: str, headers: dict[str, str]) -> bool:
        """Whether the request carries the console's session (it then needs no signature)."""


class _Budget:
    """Bytes of memory the requests in flight may use; taken before a body is read, given
    back once the request is answered. A request that fits goes at once (a small one never
    waits behind a large one); one that does not waits for what others give back."""

    def __init__(self, size: int) -> None:
        self.free = size
        self._changed: asyncio.Condition | None = None

    async def take(self, amount: int, timeout: float) -> bool:
        if amount <= self.free:
            self.free -= amount
            return True
        if self._changed is None:
            self._changed = asyncio.Condition()
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: amount <= self.free), timeout)
                self.free -= amount
                return True
        except TimeoutError:
            return False

    async def give(self, amount: int) -> None:
        self.free += amount
        if amount and self._changed is not None:
            async with self._changed:
                self._changed.notify_all()


class _Refused(Exception):
    def __init__(self, error: ServiceError, *, close: bool = True) -> None:
        self.error = error
        self.close = close


class AsgiApp:
    """The ASGI application: one `LambdaApi` behind the checks and bounds above."""

    def __init__(
        self,
        api: LambdaApi,
        guard: Guard,
        options: ServerOptions,
        invokes: SyncInvokes | None = None,
        console: ConsoleRoutes | None = None,
    ) -> None:
        self.api = api
        self.console = console
        self.guard = guard
        self.options = options
        self.invokes = invokes
        self.pool = concurrent.futures.ThreadPoolExecutor(options.workers, thread_name_prefix="perdure-api")
        self.budget = _Budget(options.memory_budget)
        self.stopping: asyncio.Event | None = None

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; nothing else is served
        if self.stopping is None:
            self.stopping = asyncio.Event()
        method: str = scope["method"]
        raw_path = scope["raw_path"].decode("latin-1")
        raw_query = scope["query_string"].decode("latin-1")
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1")
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]},{text}" if key in headers else text
        reserved = 0
        console = self.console
        to_console = console is not None and console.owns(raw_path)
        # The console's routes have a login of their own; a signed-in browser's Lambda
        # requests need no signature (it cannot make one). Host, Origin and Content-Type
        # are checked for every request alike.
        signed = not to_console and not (console is not None and console.auth.signed_in(method, headers))
        try:
            authorization = self.guard.admit(method, headers, signed=signed)
            limit, too_large, need = self._body_size(method, raw_path, headers)
            if not await self.budget.take(need * DECODE_FACTOR, self.options.body_timeout):
                raise _Refused(
                    TooManyRequestsError("Rate exceeded: too many large requests at once; retry later")
                )
            reserved = need * DECODE_FACTOR
            body = await self._read_body(scope, receive, limit, too_large)
            if body is None:
                access_log.debug("%s %s: the client left before its body was complete", method, raw_path)
                return
            if signed:
                self.guard.verify_signature(authorization, method, raw_path, raw_query, headers, body)
            request = HttpRequest(
                method=method,
                path=raw_path,
                query=parse_qs(raw_query, keep_blank_values=True),
                headers=headers,
                body=body,
            )
            del body
            if to_console:
                assert console is not None
                response, pending = await self._run(console.handle, request), None
            else:
                response, pending = await self._run(self._handle, request)
            del request
        except _Refused as refused:
            extra = (("Connection", "close"),) if refused.close else ()
            response, pending = error_response(refused.error, extra=extra), None
        except ServiceError as error:
            response, pending = error_response(error, extra=(("Connection", "close"),)), None
        finally:
            await self.budget.give(reserved)
        if pending is not None:
            response = await self._await_invoke(pending, response)
        access_log.debug("%s %s %s", method, raw_path, response.status)
        await _send(send, response, head=method == "HEAD")

    def _body_size(
        self, method: str, raw_path: str, headers: dict[str, str]
    ) -> tuple[int, RequestTooLargeError, int]:
        """(the request's body limit, the error past it, the size to reserve for: the
        declared length, or the limit for a chunked body)."""
        limit, too_large = body_limit(method, raw_path, headers)
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise _Refused(InvalidRequestContentError(f"Content-Length {length!r} is not a number"))
            need = int(length)
        else:
            need = limit if "transfer-encoding" in headers else 0
        if need > limit:
            raise _Refused(too_large)
        return limit, too_large, need

    async def _read_body(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[Any]],
        limit: int,
        too_large: ServiceError,
    ) -> bytes | None:
        """The whole body (None: the client disconnected first).

        Raises:
            _Refused: over `limit`, not complete within `body_timeout`, or the client closed
                its side before the end (it may still read the 400).
        """
        chunks: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.options.body_timeout
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise _Refused(
                    RequestTimeoutError(
                        f"the request body did not arrive within {self.options.body_timeout:g} s"
                    )
                ) from None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _Refused(too_large)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
            if scope.get(_EOF):
                access_log.debug("%s: the client left before its body was complete", scope["path"])
                raise _Refused(
                    InvalidRequestContentError(
                        f"the request body ended after {size} bytes, before its Content-Length;"
                        " nothing was done"
                    )
                )

    def _handle(self, request: HttpRequest) -> tuple[HttpResponse, str | None]:
        response = self.api.handle(request)
        pending = self.invokes.take() if self.invokes is not None else None
        return response, pending

    async def _run(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, function, *args)

    async def _await_invoke(self, arn: str, running: HttpResponse) -> HttpResponse:
        """Wait (on the loop, no thread) for a synchronous Invoke's execution, then answer it;
        past the timeout or while stopping, answer `running` (202 with the ARN)."""
        assert self.invokes is not None and self.stopping is not None
        ended: asyncio.Future[Any] = asyncio.wrap_future(self.invokes.when_finished(arn))
        stopping: asyncio.Future[Any] = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait(
                {ended, stopping}, timeout=self.invokes.timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopping.cancel()
            ended.cancel()
        try:
            answer: HttpResponse = await self._run(self.invokes.answer, arn)
        except Exception:
            # The execution exists: the store failed reading its outcome. Answer as for one
            # still running (202 with its ARN), so the client reads the outcome later.
            access_log.exception("could not read the outcome of %s; answered 202", arn)
            return running
        request_id = [(n, v) for n, v in running.headers if n == "X-Amzn-RequestId"]
        return HttpResponse(answer.status, answer.body, (*answer.headers, *request_id))


async def _send(send: Any, response: HttpResponse, *, head: bool) -> None:
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in response.headers]
    headers.append((b"Content-Length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else response.body})


_EOF = "perdure.client_eof"
"""Scope key `_GuardedH11` sets when the client closed its side in the middle of a body."""


class _GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline for a request's headers, a connection cap, and
    an answer for a body cut short by the client closing its side."""

    idle_timeout: float = 15.0
    max_connections: int = 1024
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.abort()
            return
        # A response goes out in two writes (head, body): without TCP_NODELAY the body
        # waits for the client's delayed ACK of the head, 40 ms on Linux, on every request.
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._arm()

    def eof_received(self) -> bool | None:  # type: ignore[override]
        # uvicorn closes at once, so a client that closed its sending side after its request
        # (it may still read) would get no answer. Keep the connection until the request in
        # progress is answered, then close it: a complete request gets its answer, one whose
        # body was cut short gets the app's 400 and is not acted on.
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            return None
        if cycle.more_body:
            cycle.scope[_EOF] = True  # type: ignore[literal-required]
            cycle.message_event.set()
        cycle.keep_alive = False  # closed once answered
        return True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        if not self.transport.is_closing():
            self._deadline = self.loop.call_later(self.idle_timeout, self._expire)

    def _expire(self) -> None:
        # A request whose headers arrived is the app's (its body deadline, then the answer,
        # which re-arms this); otherwise the connection is idle or stalled in its headers.
        if self.cycle is not None and not self.cycle.response_complete:
            return
        if not self.transport.is_closing():
            self.transport.close()


class ApiServer:
    """Serves a `LambdaApi` on `host:port` (port 0: an ephemeral port; see `url`).

    The socket is bound and listening in the constructor (OSError if the address is
    taken), so `url` is known before `start`.

    Args:
        api: what answers requests.
        host, port: where to listen.
        guard: who may call (default: the loopback names and `host`; no signatures).
        options: timeouts and bounds.
        invokes: how a synchronous Invoke waits for its execution (None: `api` blocks).
        console: the web console's routes (`/` and `/console/`; None: not served).
    """

    def __init__(
        self,
        api: LambdaApi,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        guard: Guard | None = None,
        options: ServerOptions | None = None,
        invokes: SyncInvokes | None = None,
        console: ConsoleRoutes | None = None,
    ) -> None:
        self.api = api
        self.options = options or ServerOptions()
        self.app = AsgiApp(api, guard or Guard(host), self.options, invokes, console)
        self._socket = _listen(host, port)
        bound = self._socket.getsockname()
        self._address = (str(bound[0]), int(bound[1]))
        protocol = type(
            "_Protocol",
            (_GuardedH11,),
            {"idle_timeout": self.options.idle_timeout, "max_connections": self.options.max_connections},
        )
        config = uvicorn.Config(
            self.app,
            http=protocol,
            loop="asyncio",
            lifespan="off",
            interface="asgi3",
            access_log=False,
            log_config=None,
            log_level="warning",  # uvicorn's own lines (started, shutting down) are noise; errors stay
            server_header=False,
            timeout_keep_alive=max(1, int(self.options.idle_timeout)),
            timeout_graceful_shutdown=max(1, int(self.options.graceful_timeout)),
            h11_max_incomplete_event_size=16 * KiB,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()

    @property
    def address(self) -> tuple[str, int]:
        return self._address

    @property
    def url(self) -> str:
        host, port = self.address
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def start(self) -> None:
        """Serve on a background thread (returns once requests are accepted)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._serve, name="perdure-http", daemon=True)
        self._thread.start()
        self._started.wait()

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.app.stopping = asyncio.Event()
        serving = asyncio.ensure_future(self._server.serve(sockets=[self._socket]))
        while not self._server.started and not serving.done():
            await asyncio.sleep(0.005)
        self._started.set()
        await serving

    def release_waiting(self) -> None:
        """Answer every synchronous Invoke still waiting for its execution (202, with the ARN)."""
        loop, stopping = self._loop, self.app.stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stopping.set)

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish (up to `graceful_timeout`), close."""
        self.release_waiting()
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join()
            self._thread = None
        self._socket.close()
        self.app.pool.shutdown(wait=True)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # A restarted `perdure serve` may bind the port a moment after the last one released it.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
