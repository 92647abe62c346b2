"""The HTTP layer's one error of its own, and the one place foreign errors become wire errors.

    PerdureError (perdure.wire.errors)
    ├── EndpointUnreachableError         the client cannot reach the server (also a ConnectionError)
    └── ServiceError
        ├── AccessDeniedError                  403 AccessDeniedException (Host, Origin, Content-Type)
        ├── MissingAuthenticationTokenError    403 MissingAuthenticationTokenException
        ├── UnrecognizedClientError            403 UnrecognizedClientException (unknown access key)
        ├── InvalidSignatureError              403 InvalidSignatureException (wrong or expired)
        ├── IncompleteSignatureError           400 IncompleteSignatureException (malformed)
        └── RequestTimeoutError                408 RequestTimeoutException (body too slow)

The socket layer's refusals (`perdure.server.http`, `perdure.server.guard`) answer with
these codes, the ones AWS uses for the same refusals.

The service errors only the HTTP layer raises (`InvalidRequestContentError`,
`UnknownOperationError`) live in `perdure.wire.errors` beside the others, so a client
maps their codes back with the same `service_error_for`.

`error_for` translates whatever a service call raised into a `ServiceError`, so the API
maps every failure to a status and an `X-Amzn-ErrorType` with one lookup; `service_error`
is the way back, from an answer's code to the error class, for perdure's client. Imports only
`perdure.wire`, `perdure.engine.errors` and the standard library.
"""

from __future__ import annotations

from perdure.engine.errors import StoreConflictError, UnknownFunctionError
from perdure.wire.errors import (
    InvalidParameterValueError,
    PerdureError,
    ResourceNotFoundError,
    ServiceError,
    TooManyRequestsError,
    service_error_for,
)


class EndpointUnreachableError(PerdureError, ConnectionError):
    """`HttpServiceClient` got no HTTP answer (refused, reset, timed out)."""


class AccessDeniedError(ServiceError):
    code = "AccessDeniedException"
    http_status = 403


class MissingAuthenticationTokenError(ServiceError):
    code = "MissingAuthenticationTokenException"
    http_status = 403


class UnrecognizedClientError(ServiceError):
    code = "UnrecognizedClientException"
    http_status = 403


class InvalidSignatureError(ServiceError):
    code = "InvalidSignatureException"
    http_status = 403


class IncompleteSignatureError(ServiceError):
    code = "IncompleteSignatureException"
    http_status = 400


class RequestTimeoutError(ServiceError):
    code = "RequestTimeoutException"
    http_status = 408


SIGNATURE_ERRORS = (
    MissingAuthenticationTokenError,
    UnrecognizedClientError,
    InvalidSignatureError,
    IncompleteSignatureError,
)
"""The refusals of a request's signature (or of its missing one)."""

_OWN = {error.code: error for error in (*SIGNATURE_ERRORS, AccessDeniedError, RequestTimeoutError)}


def service_error(code: str, message: str) -> ServiceError:
    """The error an answer's code names: the server's own refusals here, else the wire's
    (`service_error_for`; unknown codes become `ServiceError`)."""
    own = _OWN.get(code)
    return own(message) if own is not None else service_error_for(code, message)


def error_for(exc: Exception) -> ServiceError | None:
    """The wire error a service failure becomes (None: an unexpected error, a 500).

    A `ValueError` is a request the codec or the service refused as malformed, so it is
    the caller's fault (400), as AWS reports a malformed member.
    """
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, UnknownFunctionError):
        return ResourceNotFoundError(str(exc))
    if isinstance(exc, StoreConflictError):
        # lost its lock conflicts with other workers every time it was re-run: the request
        # changed nothing and can be sent again (boto3 retries a 429 by itself)
        return TooManyRequestsError(str(exc))
    if isinstance(exc, ValueError):
        return InvalidParameterValueError(str(exc))
    return None
