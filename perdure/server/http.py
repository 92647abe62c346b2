"""`ApiServer`: the socket side of `perdure serve` (stdlib `ThreadingHTTPServer`).

Reads each request (HTTP/1.1 keep-alive, `Content-Length` bodies), hands it to
`LambdaApi.handle` and writes the answer; one thread per connection, so a synchronous
`Invoke` that waits for its execution never blocks a checkpoint. Binds 127.0.0.1 unless
told otherwise (DECISIONS §4): the API has no authentication. Imports only the standard
library and `perdure.server`.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from perdure.wire.errors import InvalidRequestContentError, RequestTooLargeError

from .api import HttpRequest, HttpResponse, LambdaApi, error_response

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
MAX_BODY_BYTES = 16 * 1024 * 1024
"""Bodies above this are refused unread (the largest legal one, a 6 MiB Invoke payload, fits)."""

access_log = logging.getLogger("perdure.server.access")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A restarted `perdure serve` may bind the port a moment after the last one released it.
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: LambdaApi) -> None:
        self.api = api
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "perdure"

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def do_DELETE(self) -> None:
        self._answer()

    def do_PATCH(self) -> None:
        self._answer()

    def _answer(self) -> None:
        split = urlsplit(self.path)
        body, refused = self._read_body()
        if refused is not None:
            self.close_connection = True
            self._write(refused)
            return
        request = HttpRequest(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        self._write(self.server.api.handle(request))

    def _read_body(self) -> tuple[bytes, HttpResponse | None]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return b"", error_response(InvalidRequestContentError("chunked request bodies are not supported"))
        raw = self.headers.get("Content-Length", "0") or "0"
        try:
            length = int(raw)
        except ValueError:
            return b"", error_response(InvalidRequestContentError(f"Content-Length {raw!r} is not a number"))
        if length > MAX_BODY_BYTES:
            return b"", error_response(
                RequestTooLargeError(f"the request body ({length} bytes) is over {MAX_BODY_BYTES} bytes")
            )
        return (self.rfile.read(length) if length > 0 else b""), None

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        access_log.debug('%s "%s" %s', self.address_string(), self.requestline, code)

    def log_message(self, format: str, *args: object) -> None:
        access_log.info("%s " + format, self.address_string(), *args)


class ApiServer:
    """Serves a `LambdaApi` on `host:port` (port 0: an ephemeral port; see `url`).

    The socket is bound in the constructor (OSError if the address is taken), so `url`
    is known before `start`.
    """

    def __init__(self, api: LambdaApi, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.api = api
        self._server = _Server((host, port), api)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def start(self) -> None:
        """Serve on a background thread."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="perdure-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests and close the socket (requests in flight are abandoned)."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
