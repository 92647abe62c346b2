"""`perdure serve`: the engine behind the AWS Lambda REST API, so boto3 talks to it unchanged.

    engine = Engine.open(memory=True)
    engine.register_function("orders", invocable)
    host = EngineHost(engine, port=0)
    host.start()          # boto3.client("lambda", endpoint_url=host.url, ...) now works
    ...
    host.stop(); engine.close()

`routes` is the route table (checked against the botocore model by the tests), `api`
turns one HTTP request into one service call, `http` owns the sockets, `host` runs an
engine with its background loop and a bounded synchronous `Invoke`, and `client` is the
stdlib `DurableExecutionService` over HTTP for perdure's own tools. A tool: it may
import the engine, the SDK and the wire; nothing imports it.
"""

from __future__ import annotations

from perdure.wire.errors import InvalidRequestContentError, UnknownOperationError

from .api import HttpRequest, HttpResponse, LambdaApi
from .client import HttpServiceClient
from .errors import EndpointUnreachableError
from .host import DEFAULT_SYNC_TIMEOUT_SECONDS, EngineHost
from .http import DEFAULT_HOST, DEFAULT_PORT, ApiServer
from .routes import ROUTES, Route

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_SYNC_TIMEOUT_SECONDS",
    "ROUTES",
    "ApiServer",
    "EndpointUnreachableError",
    "EngineHost",
    "HttpRequest",
    "HttpResponse",
    "HttpServiceClient",
    "InvalidRequestContentError",
    "LambdaApi",
    "Route",
    "UnknownOperationError",
]
