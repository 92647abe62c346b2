"""Plugin instances registered directly, in the shape the official SDK had before 3.0.

Before 3.0 the official SDK took ``durable_execution(plugins=[MyPlugin()])``: a list of
plugin *instances*, each shared by every invocation of the handler. On Lambda a process
runs one invocation at a time, so such a plugin could keep per-invocation state on
``self``. `InstanceFactory` keeps that true when perdure runs invocations concurrently
(the engine's worker pool, the test runner): it is the 3.0 factory of an instance, and
each invocation gets a `SharedPlugin` that forwards every hook to the instance.

Who touches what, per instance (one `_Guard`, created on first registration):
- `invocation`: held from `on_invocation_start` to `on_invocation_end` of one invocation,
  both on its handler thread, so the instance sees one invocation at a time; a second
  invocation waits in its `on_invocation_start`.
- `call`: held around each forwarded hook, so hooks from the threads of one invocation
  (branch threads, the plugin-change thread) never run the instance's code concurrently.

The infos carry the pre-3.0 fields too: `InvocationStartInfo.start_time` (now on the first
invocation, else the execution's start, as the official SDK 1.x set it) and
`InvocationEndInfo.start_time` / `end_time`. Imports only the plugin types and the
standard library.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
from dataclasses import dataclass, field
from typing import Any

from ._types import (
    DurableInstrumentationPlugin,
    InvocationEndInfo,
    InvocationStartInfo,
    OperationChangeInfo,
    OperationEndInfo,
    OperationStartInfo,
    PropagationInput,
    PropagationMetadata,
    UserFunctionEndInfo,
    UserFunctionStartInfo,
)


@dataclass(frozen=True)
class LegacyInvocationStartInfo(InvocationStartInfo):
    """`InvocationStartInfo` with the pre-3.0 `start_time`."""

    start_time: datetime.datetime | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class LegacyInvocationEndInfo(InvocationEndInfo):
    """`InvocationEndInfo` with the pre-3.0 `start_time` and `end_time`."""

    start_time: datetime.datetime | None = field(default=None, kw_only=True)
    end_time: datetime.datetime | None = field(default=None, kw_only=True)


def _fields(info: object) -> dict[str, Any]:
    return {f.name: getattr(info, f.name) for f in dataclasses.fields(info)}  # type: ignore[arg-type]


class _Guard:
    def __init__(self) -> None:
        self.invocation = threading.Lock()
        self.call = threading.Lock()


_guards: dict[int, tuple[object, _Guard]] = {}
# Keyed by id() and holding the instance itself, so an id is never reused while its guard
# lives; a registered instance lives as long as its handler anyway.
_guards_lock = threading.Lock()


def _guard_of(instance: object) -> _Guard:
    with _guards_lock:
        entry = _guards.get(id(instance))
        if entry is None:
            entry = _guards[id(instance)] = (instance, _Guard())
        return entry[1]


def is_plugin_instance(value: object) -> bool:
    """Whether `value` is a plugin instance (the pre-3.0 registration), not a factory."""
    return isinstance(value, DurableInstrumentationPlugin)


class InstanceFactory:
    """The factory of a plugin instance registered directly (see the module docstring).

    Args:
        instance: the plugin every invocation of the handler shares.
    """

    def __init__(self, instance: DurableInstrumentationPlugin) -> None:
        self.instance = instance
        self._guard = _guard_of(instance)
        overrides_change = (
            type(instance).on_operation_change is not DurableInstrumentationPlugin.on_operation_change
        )
        self._plugin_class = _SharedPluginWithChanges if overrides_change else SharedPlugin

    def create_plugin(self, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
        return self._plugin_class(self.instance, self._guard)

    def __repr__(self) -> str:
        return f"InstanceFactory({type(self.instance).__qualname__})"


class SharedPlugin(DurableInstrumentationPlugin):
    """One invocation's view of a shared plugin instance: forwards every hook under its guard."""

    def __init__(self, instance: DurableInstrumentationPlugin, guard: _Guard) -> None:
        self._instance = instance
        self._guard = guard
        self._start: LegacyInvocationStartInfo | None = None
        self._holds = False

    def _forward(self, hook: str, info: object) -> Any:
        with self._guard.call:
            return getattr(self._instance, hook)(info)

    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        self._guard.invocation.acquire()
        self._holds = True  # released by on_invocation_end, which runs even if this hook raises
        start_time = (
            datetime.datetime.now(datetime.UTC) if info.is_first_invocation else info.execution_start_time
        )
        self._start = LegacyInvocationStartInfo(**_fields(info), start_time=start_time)
        self._forward("on_invocation_start", self._start)

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        try:
            legacy = LegacyInvocationEndInfo(
                **_fields(info),
                start_time=self._start.start_time if self._start is not None else None,
                end_time=datetime.datetime.now(datetime.UTC),
            )
            self._forward("on_invocation_end", legacy)
        finally:
            if self._holds:
                self._holds = False
                self._guard.invocation.release()

    def on_operation_start(self, info: OperationStartInfo) -> None:
        self._forward("on_operation_start", info)

    def on_operation_end(self, info: OperationEndInfo) -> None:
        self._forward("on_operation_end", info)

    def on_user_function_start(self, info: UserFunctionStartInfo) -> None:
        self._forward("on_user_function_start", info)

    def on_user_function_end(self, info: UserFunctionEndInfo) -> None:
        self._forward("on_user_function_end", info)

    def provide_propagation_metadata(self, info: PropagationInput) -> PropagationMetadata | None:
        result: PropagationMetadata | None = self._forward("provide_propagation_metadata", info)
        return result


class _SharedPluginWithChanges(SharedPlugin):
    # A separate class: the dispatcher starts its change thread only for plugins whose
    # class overrides on_operation_change.
    def on_operation_change(self, info: OperationChangeInfo) -> None:
        self._forward("on_operation_change", info)
