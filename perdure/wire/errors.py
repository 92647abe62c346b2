"""The root of perdure's exceptions and the errors a durable-execution service returns.

    PerdureError
    └── ServiceError                      500 ServiceException (the base of the service family)
        ├── InvalidParameterValueError    400 InvalidParameterValueException
        ├── ResourceNotFoundError         404 ResourceNotFoundException
        ├── ResourceConflictError         409 ResourceConflictException
        ├── DurableExecutionAlreadyStartedError  409 DurableExecutionAlreadyStartedException
        ├── TooManyRequestsError          429 TooManyRequestsException
        ├── CallbackTimeoutServiceError   400 CallbackTimeoutException
        ├── RequestTooLargeError          413 RequestTooLargeException
        ├── InvalidRequestContentError    400 InvalidRequestContentException (the body is not JSON)
        └── UnknownOperationError         404 UnknownOperationException (no route for method + path)

Each service error carries its wire name and HTTP status as class attributes, so an HTTP
layer maps either way with one lookup (`service_error_for`). The SDK's own error tree
(operation failures, control-flow signals, misuse) lives in `perdure.sdk.errors` and
hangs from `PerdureError` too.

Standard library only.
"""

from __future__ import annotations

from typing import ClassVar


class PerdureError(Exception):
    """Root of every exception perdure raises on purpose."""


class ServiceError(PerdureError):
    """An error response of the durable-execution service."""

    code: ClassVar[str] = "ServiceException"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def is_retryable(self) -> bool:
        """Whether a caller may retry the same request (throttling and server faults)."""
        return self.http_status >= 500 or self.http_status == 429


class InvalidParameterValueError(ServiceError):
    code = "InvalidParameterValueException"
    http_status = 400


class ResourceNotFoundError(ServiceError):
    code = "ResourceNotFoundException"
    http_status = 404


class ResourceConflictError(ServiceError):
    code = "ResourceConflictException"
    http_status = 409


class DurableExecutionAlreadyStartedError(ServiceError):
    code = "DurableExecutionAlreadyStartedException"
    http_status = 409


class TooManyRequestsError(ServiceError):
    code = "TooManyRequestsException"
    http_status = 429


class CallbackTimeoutServiceError(ServiceError):
    code = "CallbackTimeoutException"
    http_status = 400


class RequestTooLargeError(ServiceError):
    code = "RequestTooLargeException"
    http_status = 413


class InvalidRequestContentError(ServiceError):
    """The request body is not the JSON the operation expects."""

    code = "InvalidRequestContentException"
    http_status = 400


class UnknownOperationError(ServiceError):
    """No API operation answers this method and path."""

    code = "UnknownOperationException"
    http_status = 404


_BY_CODE: dict[str, type[ServiceError]] = {
    cls.code: cls
    for cls in (
        ServiceError,
        InvalidParameterValueError,
        ResourceNotFoundError,
        ResourceConflictError,
        DurableExecutionAlreadyStartedError,
        TooManyRequestsError,
        CallbackTimeoutServiceError,
        RequestTooLargeError,
        InvalidRequestContentError,
        UnknownOperationError,
    )
}


def service_error_for(code: str, message: str) -> ServiceError:
    """The service error for a wire error name (unknown names become `ServiceError`)."""
    return _BY_CODE.get(code, ServiceError)(message)


INVALID_CHECKPOINT_TOKEN = "Invalid checkpoint token"
"""Prefix of the InvalidParameterValueException message for a stale token (AWS wording)."""
