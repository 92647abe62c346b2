"""The public API: every official SDK 3.0 name is importable from `perdure`, and `__all__` is exact.

Two lists pin it: the 43 names the conformance handlers import and the official
package's top-level `__all__`. `perdure.__all__` must be sorted and equal the set of public
names the package actually has (as httpx `tests/test_exported_members.py` does), so a
name is never exported by accident nor forgotten.
"""

from __future__ import annotations

import importlib
import types

import pytest

CONFORMANCE_NAMES = (
    # config
    "CallbackConfig",
    "ChildConfig",
    "CompletionConfig",
    "Duration",
    "InvokeConfig",
    "JitterStrategy",
    "MapConfig",
    "NestingType",
    "ParallelBranch",
    "ParallelConfig",
    "StepConfig",
    "StepSemantics",
    "WaitForCallbackConfig",
    # context
    "DurableContext",
    "StepContext",
    "WaitForCallbackContext",
    "durable_step",
    "durable_with_child_context",
    # execution
    "durable_execution",
    # concurrency.models
    "BatchItem",
    "BatchItemStatus",
    "BatchResult",
    "CompletionReason",
    # exceptions
    "CallbackError",
    # retries
    "RetryPresets",
    "RetryStrategyConfig",
    "create_retry_strategy",
    # waits
    "WaitForConditionConfig",
    "WaitForConditionDecision",
    "WaitStrategyConfig",
    "create_wait_strategy",
    # serdes
    "JsonSerDes",
    "SerDes",
    "SerDesContext",
    # types
    "WaitForConditionCheckContext",
    # plugin
    "DurableInstrumentationPlugin",
    "InvocationStartInfo",
    "InvocationEndInfo",
    "OperationStartInfo",
    "OperationEndInfo",
    "OperationChangeInfo",
    "UserFunctionStartInfo",
    "UserFunctionEndInfo",
)

OFFICIAL_ALL = (
    "__version__",
    "durable_execution",
    "DurableContext",
    "StepContext",
    "durable_step",
    "durable_with_child_context",
    "durable_parallel_branch",
    "durable_wait_for_callback",
    "BatchResult",
    "BatchCompletionError",
    "BatchItemStatus",
    "ParallelBranch",
    "CompletionDecision",
    "CompletionItemStatus",
    "CompletionOutcome",
    "CompletionStatus",
    "complete_batch",
    "continue_batch",
    "with_retry",
    "WithRetryConfig",
    "DurableExecutionsError",
    "DurableOperationError",
    "ExecutionError",
    "InvocationError",
    "ValidationError",
    "StepError",
    "InvokeError",
    "ChildContextError",
    "WaitForConditionError",
    "CallbackError",
    "CallbackExternalError",
    "CallbackTimeoutError",
    "CallbackSubmitterError",
    "SerDesError",
    "RetryableSerDesError",
    "PluginLoadError",
)

ASYNC_FACE = ("AsyncCallback", "AsyncDurableContext", "OperationTask")
"""The asyncio face (not in the official SDK, which is sync only)."""

EXCEPTIONS = (
    "DurableExecutionsError",
    "DurableUsageError",
    "OperationCancelledError",
    "DurableOperationError",
    "ExecutionError",
    "InvocationError",
    "ValidationError",
    "StepError",
    "InvokeError",
    "ChildContextError",
    "WaitForConditionError",
    "CallbackError",
    "CallbackExternalError",
    "CallbackTimeoutError",
    "CallbackSubmitterError",
    "SerDesError",
    "RetryableSerDesError",
    "PluginLoadError",
    "BatchCompletionError",
)


def test_the_lists_are_complete() -> None:
    assert len(set(CONFORMANCE_NAMES)) == 43
    assert len(set(OFFICIAL_ALL)) == 36


@pytest.fixture(scope="module")
def perdure() -> types.ModuleType:
    return importlib.import_module("perdure")


def public_names(module: types.ModuleType) -> set[str]:
    """Attributes a user can see (`dir`, which includes the lazily imported ones): no
    leading underscore, no submodules."""
    return {
        name
        for name in dir(module)
        if not name.startswith("_") and not isinstance(getattr(module, name), types.ModuleType)
    }


@pytest.mark.parametrize("name", sorted(set(CONFORMANCE_NAMES) | set(OFFICIAL_ALL)))
def test_name_is_importable_from_perdure(perdure: types.ModuleType, name: str) -> None:
    assert hasattr(perdure, name), f"`from perdure import {name}` fails"
    assert getattr(perdure, name) is not None


@pytest.mark.parametrize("name", sorted(set(CONFORMANCE_NAMES) | set(OFFICIAL_ALL) - {"__version__"}))
def test_name_is_exported(perdure: types.ModuleType, name: str) -> None:
    assert name in perdure.__all__


@pytest.mark.parametrize("name", ASYNC_FACE)
def test_async_face_is_exported(perdure: types.ModuleType, name: str) -> None:
    assert name in perdure.__all__
    assert getattr(perdure, name).__module__ == "perdure.sdk.aio"


def test_version_is_a_string(perdure: types.ModuleType) -> None:
    assert isinstance(perdure.__version__, str) and perdure.__version__


def test_all_is_sorted(perdure: types.ModuleType) -> None:
    assert list(perdure.__all__) == sorted(perdure.__all__)


def test_all_equals_the_public_names(perdure: types.ModuleType) -> None:
    exported = set(perdure.__all__) - {"__version__"}
    public = public_names(perdure)
    assert not public - exported, f"public but not in __all__: {sorted(public - exported)}"
    assert not exported - public, f"in __all__ but missing: {sorted(exported - public)}"
    assert len(perdure.__all__) == len(set(perdure.__all__)), "duplicates in __all__"


def test_star_import_gives_exactly_all(perdure: types.ModuleType) -> None:
    namespace: dict[str, object] = {}
    exec("from perdure import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(perdure.__all__)


@pytest.mark.parametrize("name", EXCEPTIONS)
def test_exceptions_share_perdures_root(perdure: types.ModuleType, name: str) -> None:
    from perdure.wire.errors import PerdureError

    cls = getattr(perdure, name)
    assert issubclass(cls, perdure.DurableExecutionsError)
    assert issubclass(cls, PerdureError)
    assert name.endswith(("Error",))


def test_public_objects_live_in_the_sdk(perdure: types.ModuleType) -> None:
    """Re-exported from `perdure.sdk` (or `perdure.wire`), never defined by the engine or a tool."""
    for name in perdure.__all__:
        value = getattr(perdure, name)
        module = getattr(value, "__module__", None)
        if module is None or name == "__version__":
            continue
        assert module.startswith(("perdure.sdk", "perdure.wire")), f"{name} comes from {module}"
