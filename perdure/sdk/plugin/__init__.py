"""Instrumentation plugins: observe invocations, operations and user functions.

The official AWS Durable Execution SDK 3.0 plugin API under its own names. A plugin
subclasses `DurableInstrumentationPlugin` and overrides the hooks it needs; a factory
(any object with ``create_plugin(info)``) builds one plugin per invocation and is
registered with ``durable_execution(plugins=[factory])`` or named in
`DURABLE_EXECUTION_PLUGINS` (`perdure.sdk.plugin_discovery`). A plugin can never fail the
execution: hook exceptions are logged and ignored. docs/plugins.md has the firing rules.

`_types` holds the contract (infos, base class, factory Protocol); `_dispatcher` runs the
hooks of one invocation. Imports only `perdure.wire`, `perdure.sdk.errors` and the
standard library.
"""

from perdure.wire.types import ErrorObject, OperationStatus, OperationType

from ._dispatcher import NO_PLUGINS, PluginDispatcher
from ._types import (
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

__all__ = [
    "NO_PLUGINS",
    "DurableInstrumentationPlugin",
    "DurableInstrumentationPluginFactory",
    "ErrorObject",
    "InvocationEndInfo",
    "InvocationInfo",
    "InvocationStartInfo",
    "InvocationStatus",
    "OperationChangeInfo",
    "OperationEndInfo",
    "OperationInfo",
    "OperationStartInfo",
    "OperationStatus",
    "OperationType",
    "PluginDispatcher",
    "PropagationInput",
    "PropagationMetadata",
    "UserFunctionEndInfo",
    "UserFunctionOutcome",
    "UserFunctionStartInfo",
]
