"""perdure: durable execution for Python.

The user API, re-exported from `perdure.sdk` under the official AWS Durable Execution SDK
for Python 3.0 names, so code written for it runs after changing only its imports.
Nothing from the engine or the tools is exported here. The asyncio face's and the
offloading serdes' names are imported on first use (module `__getattr__`), so a process
that does not use them does not pay for their imports.
"""

import importlib
import typing

from perdure.sdk.batch import BatchItem, BatchResult
from perdure.sdk.completion import (
    BatchItemStatus,
    CompletionConfig,
    CompletionDecision,
    CompletionItemStatus,
    CompletionOutcome,
    CompletionReason,
    CompletionStatus,
    MapConfig,
    NestingType,
    ParallelBranch,
    ParallelConfig,
    complete_batch,
    continue_batch,
    durable_parallel_branch,
)
from perdure.sdk.config import (
    CallbackConfig,
    ChildConfig,
    Duration,
    InvokeConfig,
    JitterStrategy,
    StepConfig,
    StepSemantics,
    WaitForCallbackConfig,
)
from perdure.sdk.context import (
    DurableContext,
    durable_step,
    durable_wait_for_callback,
    durable_with_child_context,
)
from perdure.sdk.errors import (
    BatchCompletionError,
    CallbackError,
    CallbackExternalError,
    CallbackSubmitterError,
    CallbackTimeoutError,
    ChildContextError,
    DurableExecutionsError,
    DurableOperationError,
    DurableUsageError,
    ExecutionError,
    InvocationError,
    InvokeError,
    OperationCancelledError,
    PluginLoadError,
    RetryableSerDesError,
    SerDesError,
    StepError,
    ValidationError,
    WaitForConditionError,
)
from perdure.sdk.execution import durable_execution
from perdure.sdk.plugin import (
    DurableInstrumentationPlugin,
    DurableInstrumentationPluginFactory,
    InvocationEndInfo,
    InvocationInfo,
    InvocationStartInfo,
    InvocationStatus,
    OperationChangeInfo,
    OperationEndInfo,
    OperationInfo,
    OperationStartInfo,
    PropagationInput,
    PropagationMetadata,
    UserFunctionEndInfo,
    UserFunctionOutcome,
    UserFunctionStartInfo,
)
from perdure.sdk.retries import (
    RetryPresets,
    RetryStrategyConfig,
    create_retry_strategy,
)
from perdure.sdk.serdes import JsonSerDes, SerDes, SerDesContext
from perdure.sdk.types import StepContext, WaitForCallbackContext, WaitForConditionCheckContext
from perdure.sdk.waits import (
    WaitForConditionConfig,
    WaitForConditionDecision,
    WaitStrategyConfig,
    create_wait_strategy,
)
from perdure.sdk.with_retry import WithRetryConfig, with_retry

if typing.TYPE_CHECKING:
    from perdure.sdk.aio import AsyncCallback, AsyncDurableContext, OperationTask
    from perdure.sdk.offload import (
        BlobNotFoundError,
        BlobReference,
        BlobStore,
        LocalDirectoryBlobStore,
        OffloadSerDes,
    )

__version__ = "0.1.0"

_LAZY = {
    "AsyncCallback": "perdure.sdk.aio",
    "AsyncDurableContext": "perdure.sdk.aio",
    "OperationTask": "perdure.sdk.aio",
    "BlobNotFoundError": "perdure.sdk.offload",
    "BlobReference": "perdure.sdk.offload",
    "BlobStore": "perdure.sdk.offload",
    "LocalDirectoryBlobStore": "perdure.sdk.offload",
    "OffloadSerDes": "perdure.sdk.offload",
}
"""Imported on first use: the asyncio face (a sync handler never loads asyncio) and the
offloading serdes (an invocation that does not use it never loads it)."""


def __getattr__(name: str) -> typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'perdure' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AsyncCallback",
    "AsyncDurableContext",
    "BatchCompletionError",
    "BatchItem",
    "BatchItemStatus",
    "BatchResult",
    "BlobNotFoundError",
    "BlobReference",
    "BlobStore",
    "CallbackConfig",
    "CallbackError",
    "CallbackExternalError",
    "CallbackSubmitterError",
    "CallbackTimeoutError",
    "ChildConfig",
    "ChildContextError",
    "CompletionConfig",
    "CompletionDecision",
    "CompletionItemStatus",
    "CompletionOutcome",
    "CompletionReason",
    "CompletionStatus",
    "DurableContext",
    "DurableExecutionsError",
    "DurableInstrumentationPlugin",
    "DurableInstrumentationPluginFactory",
    "DurableOperationError",
    "DurableUsageError",
    "Duration",
    "ExecutionError",
    "InvocationEndInfo",
    "InvocationError",
    "InvocationInfo",
    "InvocationStartInfo",
    "InvocationStatus",
    "InvokeConfig",
    "InvokeError",
    "JitterStrategy",
    "JsonSerDes",
    "LocalDirectoryBlobStore",
    "MapConfig",
    "NestingType",
    "OffloadSerDes",
    "OperationCancelledError",
    "OperationChangeInfo",
    "OperationEndInfo",
    "OperationInfo",
    "OperationStartInfo",
    "OperationTask",
    "ParallelBranch",
    "ParallelConfig",
    "PluginLoadError",
    "PropagationInput",
    "PropagationMetadata",
    "RetryPresets",
    "RetryStrategyConfig",
    "RetryableSerDesError",
    "SerDes",
    "SerDesContext",
    "SerDesError",
    "StepConfig",
    "StepContext",
    "StepError",
    "StepSemantics",
    "UserFunctionEndInfo",
    "UserFunctionOutcome",
    "UserFunctionStartInfo",
    "ValidationError",
    "WaitForCallbackConfig",
    "WaitForCallbackContext",
    "WaitForConditionCheckContext",
    "WaitForConditionConfig",
    "WaitForConditionDecision",
    "WaitForConditionError",
    "WaitStrategyConfig",
    "WithRetryConfig",
    "__version__",
    "complete_batch",
    "continue_batch",
    "create_retry_strategy",
    "create_wait_strategy",
    "durable_execution",
    "durable_parallel_branch",
    "durable_step",
    "durable_wait_for_callback",
    "durable_with_child_context",
    "with_retry",
]
