"""The remote link: the engine invokes a function through the Lambda Invoke API over HTTP.

`HttpInvocable` posts the invocation input, exactly as Lambda sends it (a JSON event,
timestamps in epoch milliseconds), to `POST {url}/2015-03-31/functions/{name}/invocations`:
the route the Lambda Runtime Interface Emulator, `sam local start-lambda` and
`python -m perdure.link.lambda_host` serve. A URL whose path already ends in `/invocations`
is posted to as it is (the emulator in a container serves
`/2015-03-31/functions/function/invocations` whatever the function's name). The answer is
read as Lambda reads it:

- 200 with a JSON invocation output: the output;
- an `X-Amz-Function-Error` header: a function error, recorded with the `errorType`,
  `errorMessage` and `stackTrace` of the body;
- the connection refused (`Runtime.Unreachable`), dropped mid-invocation
  (`Runtime.ExitError`), or no answer within `timeout` seconds (`Sandbox.Timedout`);
- any other answer: `Runtime.InvalidResponse`, naming the function.

Each of them is a failed invocation the engine retries with its `InvocationRetryPolicy`,
as it retries a crash in process; an unreachable function (`FunctionUnreachable`: nothing
ran) on the policy's longer `max_unreachable_attempts`. The function reaches the engine as a Lambda function
reaches AWS: through `AWS_ENDPOINT_URL_LAMBDA` (and credentials and a region) in its own
environment. Imports `perdure.wire`, `perdure.engine`'s invoker contract and the standard
library (`http.client`).
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import quote, urlsplit

from perdure.engine.invoker import FunctionUnreachable, InvocationCrashed
from perdure.wire import limits
from perdure.wire.codec import from_wire, to_wire
from perdure.wire.types import ErrorObject, InvocationInput, InvocationOutput

INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"
FUNCTION_ERROR_HEADER = "X-Amz-Function-Error"
DEFAULT_TIMEOUT_SECONDS = 900.0
"""Lambda's longest function timeout."""
UNREACHABLE = "Runtime.Unreachable"
EXIT_ERROR = "Runtime.ExitError"
TIMED_OUT = "Sandbox.Timedout"
INVALID_RESPONSE = "Runtime.InvalidResponse"
_NOT_LISTENING = (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError)
"""Connection errors of a function not listening yet (or any more) at its address."""


def is_function_url(text: str) -> bool:
    """Whether `text` names a remote function (an `http://` or `https://` URL)."""
    return text.startswith(("http://", "https://"))


def check_function_url(url: str) -> str:
    """The URL without a trailing slash.

    Raises:
        ValueError: not an `http://` or `https://` URL with a host, or it has a query or fragment.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r}: a function URL has no query or fragment")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError(f"{url!r} has a malformed port") from None
    return url.rstrip("/")


class HttpInvocable:
    """An engine `Invocable` that invokes function `name` behind the Lambda Invoke API at `url`.

    Args:
        name: the function name in the Invoke route (also named in every error).
        url: the endpoint, e.g. `http://127.0.0.1:8080` (a Runtime Interface Emulator), or the
            whole Invoke URL (a path ending in `/invocations`).
        timeout: seconds an invocation may take before it counts as timed out.

    Raises:
        ValueError: a malformed URL or a timeout that is not positive.
    """

    def __init__(self, name: str, url: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, not {timeout!r}")
        self.name = name
        self.url = check_function_url(url)
        self.timeout = timeout
        parts = urlsplit(self.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        path = parts.path
        self._path = (
            path if path.endswith("/invocations") else path + INVOKE_PATH.format(name=quote(name, safe=""))
        )

    def __repr__(self) -> str:
        return f"HttpInvocable({self.name!r}, {self.url!r})"

    def __call__(self, input: InvocationInput, context: Any) -> InvocationOutput:
        event = json.dumps(to_wire(input, timestamps="epoch_millis"), separators=(",", ":")).encode()
        status, function_error, body = self._post(event, getattr(context, "aws_request_id", None))
        if function_error is not None:
            raise InvocationCrashed(self._function_error(function_error, body))
        if status != 200:
            raise self._invalid(f"answered HTTP {status}: {body[:200]!r}")
        if len(body) > limits.MAX_RESPONSE_BYTES:  # read no further: Lambda caps a response there
            raise self._invalid(f"answered more than the {limits.MAX_RESPONSE_BYTES}-byte response limit")
        try:
            raw = json.loads(body)
        except ValueError:
            raise self._invalid(f"answered {body[:200]!r}, which is not JSON") from None
        if not isinstance(raw, dict):
            raise self._invalid(f"answered {body[:200]!r}, not an invocation output object")
        try:
            return from_wire(InvocationOutput, raw, timestamps="epoch_millis")
        except (TypeError, ValueError, KeyError) as exc:
            raise self._invalid(f"answered an invalid invocation output ({exc}): {body[:200]!r}") from None

    def _post(self, event: bytes, request_id: str | None) -> tuple[int, str | None, bytes]:
        connection_type = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = connection_type(self._host, self._port, timeout=self.timeout)
        headers = {"Content-Type": "application/json", "X-Amz-Invocation-Type": "RequestResponse"}
        if request_id:
            headers["X-Amz-Request-Id"] = request_id
        try:
            try:
                connection.connect()
            except TimeoutError:
                raise self._unreachable(f"no connection within {self.timeout:g} s") from None
            except _NOT_LISTENING as exc:  # a function restarting: tried again for longer
                raise self._unreachable(f"cannot connect: {exc.strerror or exc}") from None
            except OSError as exc:  # an unknown host, a TLS failure: a crash, as before
                raise self._failed(UNREACHABLE, f"cannot connect: {exc.strerror or exc}") from None
            try:
                connection.request("POST", self._path, body=event, headers=headers)
                response = connection.getresponse()
                body = response.read(limits.MAX_RESPONSE_BYTES + 1)
            except TimeoutError:
                raise self._failed(TIMED_OUT, f"timed out after {self.timeout:g} seconds") from None
            except (OSError, http.client.HTTPException) as exc:
                raise self._failed(EXIT_ERROR, f"the connection ended mid-invocation ({exc!r})") from None
            return response.status, response.getheader(FUNCTION_ERROR_HEADER), body
        finally:
            connection.close()

    def _failed(
        self, error_type: str, message: str, kind: type[InvocationCrashed] = InvocationCrashed
    ) -> InvocationCrashed:
        return kind(
            ErrorObject(error_type=error_type, error_message=f"function {self.name} at {self.url}: {message}")
        )

    def _unreachable(self, message: str) -> InvocationCrashed:
        return self._failed(UNREACHABLE, message, FunctionUnreachable)

    def _invalid(self, message: str) -> InvocationCrashed:
        return self._failed(INVALID_RESPONSE, message)

    def _function_error(self, kind: str, body: bytes) -> ErrorObject:
        try:
            raw = json.loads(body)
        except ValueError:
            raw = None
        if not isinstance(raw, dict):
            return ErrorObject(
                error_type=kind or "Unhandled",
                error_message=f"function {self.name} failed: {body[:1000].decode('utf-8', 'replace')}",
            )
        trace = raw.get("stackTrace")
        return ErrorObject(
            error_type=str(raw.get("errorType") or kind or "Unhandled"),
            error_message=str(raw.get("errorMessage") or ""),
            stack_trace=tuple(str(line) for line in trace) if isinstance(trace, list) else None,
        )
