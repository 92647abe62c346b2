"""`perdure serve`: the engine behind the AWS Lambda REST API, so boto3 talks to it unchanged.

    engine = Engine.open(memory=True)
    engine.register_function("orders", invocable)
    host = EngineHost(engine, port=0)
    host.start()          # boto3.client("lambda", endpoint_url=host.url, ...) now works
    ...
    host.stop(); engine.close()

`routes` is the route table (checked against the botocore model by the tests), `api`
turns one HTTP request into one service call, `guard` decides who may call (Host, Origin,
Content-Type, SigV4), `sigv4` signs and verifies signatures, `http` owns the sockets (uvicorn, from the `server` extra: imported
only when a server is built, so the client and the CLI work without it), `host` runs an
engine with its background loop and a bounded synchronous `Invoke`, and `client` is the
stdlib `DurableExecutionService` over HTTP for perdure's own tools. A tool: it may
import the engine, the SDK and the wire; nothing imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perdure.wire.errors import InvalidRequestContentError, UnknownOperationError

from .api import HttpRequest, HttpResponse, LambdaApi
from .client import HttpServiceClient
from .errors import EndpointUnreachableError
from .guard import Guard
from .host import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_SYNC_TIMEOUT_SECONDS,
    CredentialsRequiredError,
    EngineHost,
)
from .routes import ROUTES, Route
from .sigv4 import Credentials

if TYPE_CHECKING:
    from .http import ApiServer, ServerOptions


def __getattr__(name: str) -> Any:
    # The socket layer needs uvicorn (the `server` extra); import it only when asked for.
    if name in ("ApiServer", "ServerOptions"):
        from . import http

        return getattr(http, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_SYNC_TIMEOUT_SECONDS",
    "ROUTES",
    "ApiServer",
    "Credentials",
    "CredentialsRequiredError",
    "EndpointUnreachableError",
    "EngineHost",
    "Guard",
    "HttpRequest",
    "HttpResponse",
    "HttpServiceClient",
    "InvalidRequestContentError",
    "LambdaApi",
    "Route",
    "ServerOptions",
    "UnknownOperationError",
]
