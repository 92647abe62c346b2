"""`Console`: the web console's routes, `GET /` and `GET /console/...`, and its login.

The page (`static/`: plain HTML, CSS and JavaScript, no third-party code) reads its data
from `/console/api/*` (answered here from `perdure.console.data`) and acts through the
Lambda REST routes a boto3 client uses (callbacks, stop, invoke), so an action passes
the same checks as any client's. Only GET is served here.

Login: when the server checks signatures (credentials configured, which binding beyond
loopback requires), a browser cannot sign its requests, so the console has a token of its
own, printed at start. Visiting `/?token=TOKEN` sets an HttpOnly, SameSite=Strict cookie
and redirects to `/`; a request carrying that cookie is signed in, on the console's routes
and (instead of a signature) on the Lambda routes. The server's Host, Origin and
Content-Type checks apply to it as to any request; a signed-in request that changes state
must also carry an `Origin` (every browser sends one on such a fetch). Without
credentials (loopback), no login is asked, as no signature is.

Imports `perdure.console.data`, `perdure.server.api` (the HTTP value types), `perdure.engine`
and `perdure.wire`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any
from urllib.parse import quote

from perdure.engine.service import EngineService
from perdure.server.api import HttpRequest, HttpResponse, error_response, json_response
from perdure.server.errors import error_for
from perdure.wire.errors import InvalidParameterValueError, ServiceError, UnknownOperationError

from . import data

COOKIE = "perdure_console"
PREFIX = "/console/"
_STATIC = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
_SECURITY_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    (
        "Content-Security-Policy",
        "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
)


def new_token() -> str:
    """A fresh console token (192 random bits, URL-safe)."""
    return secrets.token_urlsafe(24)


class ConsoleAuth:
    """The console's login: None as `token` asks for none (a loopback server without
    signatures); otherwise the token, and the session cookie it buys."""

    def __init__(self, token: str | None) -> None:
        if token is not None and len(token) < 16:
            raise ValueError("a console token must be at least 16 characters")
        self.token = token
        self._session = (
            None
            if token is None
            else hmac.new(token.encode(), b"perdure-console-session", hashlib.sha256).hexdigest()
        )

    @property
    def required(self) -> bool:
        return self.token is not None

    def signed_in(self, method: str, headers: Mapping[str, str]) -> bool:
        """Whether the request carries the session cookie (and, unless it only reads, an
        Origin; the guard has checked that it is the server's own)."""
        if self._session is None:
            return False
        cookie = _cookies(headers.get("cookie", "")).get(COOKIE)
        if cookie is None or not hmac.compare_digest(cookie.encode(), self._session.encode()):
            return False
        return method in ("GET", "HEAD") or "origin" in headers

    def token_matches(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def cookie(self) -> str:
        assert self._session is not None
        return f"{COOKIE}={self._session}; Path=/; HttpOnly; SameSite=Strict"


def _cookies(header: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            found.setdefault(name, value)
    return found


class Console:
    """The console over one engine service.

    Args:
        service: the engine's service (reads, and the functions it may start).
        auth: the login (default: none).
        can_start: whether the page offers to start executions (False when no function
            can run here, as under `perdure console`).
    """

    def __init__(
        self, service: EngineService, auth: ConsoleAuth | None = None, *, can_start: bool = True
    ) -> None:
        self.service = service
        self.auth = auth or ConsoleAuth(None)
        self.can_start = can_start
        self._api: dict[str, Callable[[Mapping[str, list[str]]], dict[str, Any]]] = {
            "executions": self._executions,
            "execution": self._execution,
            "version": self._version,
            "operation": self._operation,
            "functions": self._functions,
        }

    @staticmethod
    def owns(path: str) -> bool:
        """Whether `path` (raw, without the query) is the console's."""
        return path == "/" or path.startswith(PREFIX)

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one console request; never raises."""
        try:
            response = self._dispatch(request)
        except Exception as exc:
            error = error_for(exc) or ServiceError(f"internal error: {type(exc).__name__}: {exc}")
            response = error_response(error)
        return HttpResponse(response.status, response.body, (*response.headers, *_SECURITY_HEADERS))

    def _dispatch(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return error_response(
                UnknownOperationError(f"{request.method} is not allowed on {request.path} (allowed: GET)"),
                status=405,
                extra=(("Allow", "GET, HEAD"),),
            )
        token = request.query.get("token")
        if token and request.path == "/":
            if not self.auth.token_matches(token[-1]):
                return _login_page("That token is not this server's. Use the URL perdure printed at start.")
            return HttpResponse(303, b"", (("Location", "/"), ("Set-Cookie", self.auth.cookie())))
        rest = request.path[len(PREFIX) :]
        if rest in _STATIC:  # the page's own code and style: nothing secret, needed by the login page
            return _static(rest, _STATIC[rest])
        if self.auth.required and not self.auth.signed_in(request.method, request.headers):
            if request.path.startswith(PREFIX + "api/"):
                return json_response(
                    401, {"message": "sign in: open the console URL perdure printed at start"}
                )
            return _login_page(None)
        if request.path == "/":
            return _static("index.html", "text/html; charset=utf-8")
        if rest.startswith("api/") and rest[4:] in self._api:
            return json_response(200, self._api[rest[4:]](request.query))
        return error_response(UnknownOperationError(f"no console page at {request.path}"))

    # ------------------------------------------------------------------ api

    def _executions(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        page = data.list_page(
            self.service,
            function=_one(query, "function"),
            statuses=[s for value in query.get("status", []) for s in value.split(",")],
            name=_one(query, "name"),
            after=_integer(query, "after"),
            limit=data.PAGE_SIZE if (limit := _integer(query, "limit")) is None else limit,
        )
        return page

    def _execution(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        return data.execution_page(self.service, _required(query, "arn"))

    def _version(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        return data.execution_version(self.service, _required(query, "arn"))

    def _operation(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        return data.operation_detail(self.service, _required(query, "arn"), _one(query, "id"))

    def _functions(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        seen = self.service.function_names()
        registered = self.service.registry.names() if self.can_start else []
        return {"registered": registered, "all": sorted({*seen, *registered})}


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values and values[-1] else None


def _required(query: Mapping[str, list[str]], name: str) -> str:
    value = _one(query, name)
    if value is None:
        raise InvalidParameterValueError(f"the query parameter {name} is required")
    return value


def _integer(query: Mapping[str, list[str]], name: str) -> int | None:
    value = _one(query, name)
    if value is None:
        return None
    if not value.isdigit() or len(value) > 18:
        raise InvalidParameterValueError(f"{name}={value[:40]!r} is not a non-negative integer")
    return int(value)


def _static(name: str, content_type: str) -> HttpResponse:
    body = resources.files(__package__).joinpath("static", name).read_bytes()
    return HttpResponse(200, body, (("Content-Type", content_type),))


def _login_page(problem: str | None) -> HttpResponse:
    note = problem or (
        "This console needs its token. Open the console URL perdure printed when it started"
        " (it ends in ?token=…); the browser then keeps a cookie for this server."
    )
    html = (
        "<!doctype html><meta charset=utf-8><title>perdure console: sign in</title>"
        "<link rel=stylesheet href=/console/console.css>"
        f"<main class=login><h1>perdure</h1><p>{_escape(note)}</p></main>"
    )
    return HttpResponse(401, html.encode(), (("Content-Type", "text/html; charset=utf-8"),))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def console_url(base: str, auth: ConsoleAuth) -> str:
    """The URL to open: `base` + `/`, with the token when one is needed."""
    return f"{base}/?token={quote(auth.token)}" if auth.token is not None else f"{base}/"
