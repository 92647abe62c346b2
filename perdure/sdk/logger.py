"""The replay-aware logger handed to user code (`context.logger`, `step_context.logger`).

Owns `Logger`, `LogInfo` and the `LoggerInterface` Protocol. Every record carries the
structured fields `executionArn`, and where known `parentId`, `operationName`,
`attempt` and `operationId`, as attributes (the stdlib `extra` mechanism), and is dropped
while the owning context is replaying, so each line appears once per execution. By
default records go to the stdlib **root** logger, as in the official SDK; `set_logger`
on a context (or `Logger(...)` here) puts any logger with the stdlib method shapes in its
place. Imports only the standard library.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from perdure.wire.fast_init import value_type


class LoggerInterface(Protocol):
    """The stdlib `logging.Logger` method shapes the durable logger forwards to."""

    def debug(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...

    def info(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...

    def warning(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...

    def error(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...

    def exception(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...


def _never_replaying() -> bool:
    return False


@value_type
class LogInfo:
    """The structured fields a logger attaches to every record."""

    durable_execution_arn: str
    parent_id: str | None = None
    operation_id: str | None = None
    name: str | None = None
    attempt: int | None = None

    def extra(self) -> dict[str, object]:
        """The fields as record attributes (`name` is reserved by LogRecord: `operationName`)."""
        fields: dict[str, object] = {"executionArn": self.durable_execution_arn}
        if self.parent_id:
            fields["parentId"] = self.parent_id
        if self.name:
            fields["operationName"] = self.name
        if self.attempt is not None:
            fields["attempt"] = self.attempt
        if self.operation_id:
            fields["operationId"] = self.operation_id
        return fields


class Logger:
    """Forwards to an underlying logger with structured fields, silent while replaying.

    Args:
        logger: the logger records go to.
        default_extra: the fields merged into every record's `extra`.
        is_replaying: the owning context's replay status (default: never replaying).
    """

    def __init__(
        self,
        logger: LoggerInterface | logging.Logger,
        default_extra: Mapping[str, object],
        is_replaying: Callable[[], bool] = _never_replaying,
    ) -> None:
        self._logger: Any = logger
        self._extra: dict[str, object] | None = dict(default_extra)
        self._info: LogInfo | None = None
        self._is_replaying = is_replaying

    @classmethod
    def _lazy(
        cls,
        logger: Any,
        info: LogInfo | None,
        extra: dict[str, object] | None,
        is_replaying: Callable[[], bool],
    ) -> Logger:
        """A logger whose fields are `extra`, or `info`'s, built when it first logs: a step
        or a child context derives one each, and most never log."""
        new = cls.__new__(cls)
        new._logger, new._info, new._extra, new._is_replaying = logger, info, extra, is_replaying
        return new

    @property
    def _default_extra(self) -> dict[str, object]:
        extra = self._extra
        if extra is None:
            assert self._info is not None
            extra = self._extra = self._info.extra()
        return extra

    @classmethod
    def from_log_info(
        cls,
        logger: LoggerInterface | logging.Logger,
        info: LogInfo,
        is_replaying: Callable[[], bool] = _never_replaying,
    ) -> Logger:
        """A logger attaching `info`'s fields."""
        return cls(logger, info.extra(), is_replaying)

    def with_log_info(self, info: LogInfo) -> Logger:
        """A copy with other structured fields and the same replay-status source."""
        return Logger._lazy(self._logger, info, None, self._is_replaying)

    def with_is_replaying(self, is_replaying: Callable[[], bool]) -> Logger:
        """A copy bound to another replay-status source.

        ``ctx.logger.with_is_replaying(lambda: False)`` logs during replay as well.
        """
        return Logger._lazy(self._logger, self._info, self._extra, is_replaying)

    def get_logger(self) -> LoggerInterface | logging.Logger:
        """The underlying logger."""
        return self._logger  # type: ignore[no-any-return]

    def debug(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        """Log at DEBUG unless replaying."""
        if not self._is_replaying():
            self._logger.debug(msg, *args, extra=self._merge(extra))

    def info(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        """Log at INFO unless replaying."""
        if not self._is_replaying():
            self._logger.info(msg, *args, extra=self._merge(extra))

    def warning(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        """Log at WARNING unless replaying."""
        if not self._is_replaying():
            self._logger.warning(msg, *args, extra=self._merge(extra))

    def error(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        """Log at ERROR unless replaying."""
        if not self._is_replaying():
            self._logger.error(msg, *args, extra=self._merge(extra))

    def exception(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None:
        """Log at ERROR with the current exception unless replaying."""
        if not self._is_replaying():
            self._logger.exception(msg, *args, extra=self._merge(extra))

    def _merge(self, extra: Mapping[str, object] | None) -> dict[str, object]:
        if not extra:
            return self._default_extra
        return {**self._default_extra, **extra}


def default_logger() -> logging.Logger:
    """Where records go unless `set_logger` says otherwise: the stdlib root logger."""
    return logging.getLogger()
