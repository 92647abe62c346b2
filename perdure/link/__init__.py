"""The link between the SDK and the engine: how the engine runs a handler.

`InProcessInvocable` calls the handler on the engine's thread with the engine's service
as its client. `ProcessInvocable` runs it in worker subprocesses that reach the engine
over a pipe, so a handler that crashes its interpreter is recorded as `Runtime.ExitError`.
`HttpInvocable` (`perdure.link.remote`) invokes a remote function through the Lambda Invoke
API; `python -m perdure.link.lambda_host` serves handlers on that API.
`Target` loads handlers from `path/file.py:func` or `package.module:func`.
"""

from __future__ import annotations

from .logs import CaptureHandler, LogSink, LogStore, capture_logging
from .target import Target, TargetError, load_target

__all__ = ["CaptureHandler", "LogSink", "LogStore", "Target", "TargetError", "capture_logging", "load_target"]
