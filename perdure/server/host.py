"""`EngineHost`: an `Engine` served over HTTP, as `perdure serve` runs it.

The host starts the engine's background loop (timers fire and executions are invoked
without anyone driving them), serves the engine's service through `LambdaApi` on an
`ApiServer`, and bounds a synchronous `Invoke`: the server waits (on its event loop, with
no thread) for the execution to end for at most `sync_timeout` seconds, then answers 202
with the running execution's ARN in `X-Amz-Durable-Execution-Arn` (the execution carries
on; poll `GetDurableExecution`). Work another process writes to the same database file
(`perdure callback --db`) is picked up by the engine loop itself (see
`perdure.engine.scheduler`). `stop()` releases waiting invokes, lets running invocations
finish (they may still checkpoint over HTTP), then closes the socket.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ipaddress
import signal
import socket
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import TYPE_CHECKING

from perdure.engine import Engine
from perdure.wire.types import ExecutionStatus

from .api import HttpResponse, LambdaApi, invoke_response
from .guard import Guard, is_loopback
from .sigv4 import ACCESS_KEY_ENV, SECRET_KEY_ENV, Credentials

if TYPE_CHECKING:
    from .http import ServerOptions

DEFAULT_SYNC_TIMEOUT_SECONDS = 50.0
"""How long a RequestResponse `Invoke` waits for its execution. Below botocore's default
60 s read timeout, so a default boto3 client gets the ARN instead of timing out and
retrying (a retried unnamed Invoke would start a second execution)."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000


class CredentialsRequiredError(ValueError):
    """Asked to listen beyond loopback without credentials to check signatures with."""


def check_bind(host: str, credentials: Credentials | None) -> None:
    """Refuse to listen beyond loopback without credentials (signatures are then required).

    Raises:
        CredentialsRequiredError: naming the options that give them.
    """
    if credentials is None and not is_loopback(host):
        raise CredentialsRequiredError(
            f"listening on {host} (beyond this machine) needs credentials to check request"
            " signatures: give --access-key-id and --secret-access-key"
            f" (or {ACCESS_KEY_ENV} and {SECRET_KEY_ENV})"
        )


def is_wildcard(host: str) -> bool:
    """Whether `host` is a wildcard address (0.0.0.0, ::): one that listens on every interface."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def machine_names() -> list[str]:
    """This machine's own names, which a client reaching a wildcard-bound server may send as
    Host: its host name (short and fully qualified), the addresses those resolve to, and the
    address of each family's default-route interface. Sorted; lookups that fail are skipped."""
    names: set[str] = set()
    for name in {socket.gethostname(), socket.getfqdn()}:
        if not name:
            continue
        names.add(name.lower())
        with contextlib.suppress(OSError, UnicodeError):
            for *_, address in socket.getaddrinfo(name, None):
                names.add(str(address[0]).partition("%")[0])
    # Connecting a UDP socket sends nothing; it picks the interface a packet would leave by.
    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as probe_socket:
            probe_socket.connect((probe, 9))
            names.add(str(probe_socket.getsockname()[0]).partition("%")[0])
    return sorted(names)


class EngineHost:
    """Hosts `engine` on `host:port` (port 0: an ephemeral port, see `url`).

    Args:
        engine: the engine to serve; its functions are registered by the caller.
        host, port: where to listen (the socket is bound here: OSError if taken).
        sync_timeout: seconds a RequestResponse `Invoke` waits before answering 202.
        allowed_hosts: Host names served besides the bound address and the loopback names
            (`*`: any). Bound to a wildcard address, this machine's own names are served too
            (`machine_names`, listed in `machine_hosts`).
        credentials: when given, every request must be SigV4-signed with them. Required
            when `host` is not a loopback address.
        options: the socket layer's timeouts and bounds (`perdure.server.http.ServerOptions`).
        console: serve the web console at `/` (see `perdure.console`).
        console_token: the console's login token when credentials are given (default: a
            fresh random one; see `console_url`). Without credentials no login is asked.
        run_engine: run the engine's background loop (False: only answer requests, as
            `perdure console` does for a database another process runs).

    Raises:
        CredentialsRequiredError: `host` reaches beyond this machine and no credentials were given.
        ImportError: the `server` extra (uvicorn) is not installed.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        sync_timeout: float = DEFAULT_SYNC_TIMEOUT_SECONDS,
        allowed_hosts: Iterable[str] = (),
        credentials: Credentials | None = None,
        options: ServerOptions | None = None,
        console: bool = True,
        console_token: str | None = None,
        run_engine: bool = True,
    ) -> None:
        from perdure.console import Console, ConsoleAuth, new_token

        from .http import ApiServer, ServerOptions

        if sync_timeout < 0:
            raise ValueError("sync_timeout must be >= 0")
        check_bind(host, credentials)
        self.engine = engine
        self.run_engine = run_engine
        self.sync_timeout = sync_timeout
        self.machine_hosts = machine_names() if is_wildcard(host) else []
        """This machine's names, served as Host because the server listens on every interface."""
        self.console: Console | None = None
        if console:
            # Signatures checked means a browser cannot call in: the console's own token then.
            token = (console_token or new_token()) if credentials is not None else None
            self.console = Console(engine.service, ConsoleAuth(token), can_start=run_engine)
        self.api = LambdaApi(engine.service)
        self._invokes = _SyncInvokes(engine, self.api, sync_timeout)
        # The engine's `invoke` calls this hook for RequestResponse; by default it drives
        # the execution on the caller's thread with no bound. Here the background loop
        # runs it, and the hook only notes the ARN: the server waits for it without a thread.
        engine.service.run_to_completion = self._invokes.capture
        self.server = ApiServer(
            self.api,
            host,
            port,
            guard=Guard(host, [*allowed_hosts, *self.machine_hosts], credentials),
            options=options or ServerOptions(),
            invokes=self._invokes,
            console=self.console,
        )

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def console_url(self) -> str | None:
        """The web console's address (with `?token=` when it asks for a login); None: not served."""
        from perdure.console import console_url

        return None if self.console is None else console_url(_reachable(self.url), self.console.auth)

    def start(self) -> None:
        """Start the engine's background loop (unless `run_engine` is False), then accept requests."""
        if self.run_engine:
            self.engine.start()
        self.server.start()

    def stop(self) -> None:
        """Release waiting invokes, stop the engine loop (running invocations finish), close
        the socket. The engine itself stays open: the caller closes it."""
        self.server.release_waiting()
        if self.run_engine:
            self.engine.stop()
        self.server.stop()

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


class _SyncInvokes:
    """`perdure.server.http.SyncInvokes` over an engine: which ARN a RequestResponse invoke
    left on this thread, its end as a future, and its answer."""

    def __init__(self, engine: Engine, api: LambdaApi, timeout: float) -> None:
        self._engine = engine
        self._api = api
        self.timeout = timeout
        self._local = threading.local()

    def capture(self, arn: str) -> None:
        self._local.arn = arn

    def take(self) -> str | None:
        arn: str | None = getattr(self._local, "arn", None)
        self._local.arn = None
        return arn

    def when_finished(self, arn: str) -> concurrent.futures.Future[ExecutionStatus]:
        return self._engine.when_finished(arn)

    def answer(self, arn: str) -> HttpResponse:
        return invoke_response(self._engine.service.invoke_response(arn))


def _reachable(url: str) -> str:
    """`url` with a wildcard bind address (0.0.0.0, ::) as the loopback address: one to open."""
    for wildcard, loopback in (("://0.0.0.0:", "://127.0.0.1:"), ("://[::]:", "://[::1]:")):
        if wildcard in url:
            return url.replace(wildcard, loopback, 1)
    return url
