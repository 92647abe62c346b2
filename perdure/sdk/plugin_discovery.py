"""Resolving the plugin factories of a handler: explicit ones, then the environment's.

Owns `load_configured_plugins`, which `durable_execution` calls once, when it decorates
the handler. Explicit factories (`durable_execution(plugins=[...])`) come first, in
order (a plugin instance there, the shape before 3.0, gets its `InstanceFactory`); then the names listed in `DURABLE_EXECUTION_PLUGINS` (comma-separated), each
resolved through the entry-point group `aws_durable_execution.plugins` (the official
group) or `perdure.plugins`. A factory already registered explicitly is skipped.
Everything that can be checked without an invocation is checked here, and any problem is
a `PluginLoadError`: an empty or repeated name, a name no provider (or more than one)
declares, an entry point that fails to import, a value without a usable
``create_plugin(info)``, and two factories of one exclusive group.

Exclusive groups are opt-in, as in the official SDK: a factory class that declares
``__durable_registration_api__ = 1`` may declare ``exclusive_group = "name"`` and
``on_registration_result(registered: bool)``, which is called once whether the
registration succeeded or not. Imports only `perdure.sdk.errors`, the plugin types and
the standard library (`importlib.metadata`).
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, cast

from .errors import PluginLoadError

if TYPE_CHECKING:
    # Imported where entry points are read, and only then: it costs ~20 ms at import
    # time, and most processes configure no plugin by name.
    from importlib import metadata
from .plugin import DurableInstrumentationPlugin, DurableInstrumentationPluginFactory
from .plugin._instances import InstanceFactory, is_plugin_instance

logger = logging.getLogger("perdure.sdk.plugin")

PLUGIN_ENTRY_POINT_GROUP = "aws_durable_execution.plugins"
"""The official entry-point group of plugin factories."""
PERDURE_ENTRY_POINT_GROUP = "perdure.plugins"
"""perdure's own entry-point group, searched as well."""
PLUGIN_ENVIRONMENT_VARIABLE = "DURABLE_EXECUTION_PLUGINS"

EntryPointSource = Callable[[str], Iterable["metadata.EntryPoint"]]
"""Lists the entry points of a group (default: `importlib.metadata.entry_points`)."""

_PROBE = object()


def _installed_entry_points(group: str) -> Iterable[metadata.EntryPoint]:
    from importlib import metadata

    return metadata.entry_points(group=group)


def describe(value: object) -> str:
    """A rejected value, named so its author recognises it (a class or function by name)."""
    if isinstance(value, type) or inspect.isfunction(value) or inspect.ismethod(value):
        module = getattr(value, "__module__", None) or "?"
        kind = "class" if isinstance(value, type) else "function"
        return f"the {kind} {module}.{getattr(value, '__qualname__', '?')}"
    return f"a {type(value).__module__}.{type(value).__qualname__} instance"


def is_plugin_factory(value: object) -> bool:
    """Whether `value` has a ``create_plugin`` that can be called with the info alone.

    A class whose ``create_plugin`` is an ordinary method is refused (the info would be
    bound to ``self``); a class- or static method is fine. No factory code runs here.
    """
    create_plugin = getattr(value, "create_plugin", None)
    if not callable(create_plugin):
        return False
    if isinstance(value, type) and inspect.isfunction(create_plugin):
        declared = inspect.getattr_static(value, "create_plugin", None)
        if not isinstance(declared, staticmethod):
            return False
    try:
        signature = inspect.signature(create_plugin)
    except (TypeError, ValueError):
        return True  # no introspectable signature (e.g. C code): trust the member
    try:
        signature.bind(_PROBE)
    except TypeError:
        return False
    return True


def _check_explicit(factories: Sequence[object]) -> list[object]:
    """The explicit factories, a plugin instance (the pre-3.0 shape) wrapped in its factory."""
    checked: list[object] = []
    for index, factory in enumerate(factories):
        if is_plugin_instance(factory):
            checked.append(InstanceFactory(cast(DurableInstrumentationPlugin, factory)))
            continue
        if not is_plugin_factory(factory):
            raise PluginLoadError(
                f"plugins[{index}] must be a plugin factory (an object with a create_plugin(info) "
                f"method returning a DurableInstrumentationPlugin) or a DurableInstrumentationPlugin "
                f"instance, but is {describe(factory)}; pass a factory instance, e.g. "
                "plugins=[MyPluginFactory()]"
            )
        checked.append(factory)
    return checked


def configured_names(environment: Mapping[str, str]) -> list[str]:
    """The plugin names `DURABLE_EXECUTION_PLUGINS` lists.

    Raises:
        PluginLoadError: a name is empty or repeated.
    """
    raw = environment.get(PLUGIN_ENVIRONMENT_VARIABLE)
    if raw is None or not raw.strip():
        return []
    names = [name.strip() for name in raw.split(",")]
    if not all(names):
        raise PluginLoadError(f"{PLUGIN_ENVIRONMENT_VARIABLE} must hold non-empty, comma-separated names")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise PluginLoadError(f"{PLUGIN_ENVIRONMENT_VARIABLE} names {', '.join(repeated)} more than once")
    return names


def _providers(source: EntryPointSource) -> dict[str, list[metadata.EntryPoint]]:
    by_name: dict[str, list[metadata.EntryPoint]] = {}
    for group in (PLUGIN_ENTRY_POINT_GROUP, PERDURE_ENTRY_POINT_GROUP):
        try:
            found = list(source(group))
        except Exception as exc:
            raise PluginLoadError(f"cannot list the entry points of group {group!r}: {exc}") from exc
        for entry_point in found:
            same = by_name.setdefault(entry_point.name, [])
            # One provider declaring the same target in both groups is one provider.
            if all(other.value != entry_point.value for other in same):
                same.append(entry_point)
    return by_name


def _distribution(entry_point: metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    return str(dist.metadata.get("Name", "?")) if dist is not None else "an unknown distribution"


def _resolve(name: str, providers: Mapping[str, list[metadata.EntryPoint]], loaded: list[object]) -> object:
    matches = providers.get(name, [])
    groups = f"{PLUGIN_ENTRY_POINT_GROUP!r} or {PERDURE_ENTRY_POINT_GROUP!r}"
    if not matches:
        known = ", ".join(sorted(providers)) or "none"
        raise PluginLoadError(
            f"no plugin provider named {name!r} in entry-point group {groups} (installed: {known}); "
            "install the package that provides it"
        )
    if len(matches) > 1:
        owners = ", ".join(f"{_distribution(ep)} ({ep.value})" for ep in matches)
        raise PluginLoadError(f"more than one plugin provider is named {name!r}: {owners}; remove one")
    entry_point = matches[0]
    try:
        factory = entry_point.load()
    except Exception as exc:
        raise PluginLoadError(f"cannot load plugin {name!r} from {entry_point.value!r}: {exc}") from exc
    loaded.append(factory)
    if not is_plugin_factory(factory):
        raise PluginLoadError(
            f"plugin entry point {name!r} ({entry_point.value}) must name a plugin factory instance "
            f"(with create_plugin(info)), but names {describe(factory)}"
        )
    return factory


def _factory_class(factory: object) -> type:
    return factory if isinstance(factory, type) else type(factory)


def _opted_in(cls: type) -> bool:
    return getattr(cls, "__durable_registration_api__", None) == 1


def _check_exclusive_groups(factories: Sequence[object]) -> None:
    owners: dict[str, object] = {}
    for factory in factories:
        cls = _factory_class(factory)
        if not _opted_in(cls):
            continue
        group = getattr(cls, "exclusive_group", None)
        if group is None:
            continue
        if not isinstance(group, str) or not group.strip():
            raise PluginLoadError(
                f"{describe(cls)} must declare exclusive_group as None or a non-empty string"
            )
        if group in owners:
            raise PluginLoadError(
                f"{describe(owners[group])} and {describe(factory)} are mutually exclusive "
                f"(exclusive group {group!r}); register only one of them"
            )
        owners[group] = factory


def _notify(factories: Iterable[object], *, registered: bool) -> None:
    seen: set[int] = set()
    for factory in factories:
        if id(factory) in seen:
            continue
        seen.add(id(factory))
        if not _opted_in(_factory_class(factory)):
            continue
        callback = getattr(factory, "on_registration_result", None)
        if callable(callback):
            try:
                callback(registered)
            except Exception:  # a notification must not change the outcome
                logger.exception("on_registration_result of %s failed", describe(factory))


def load_configured_plugins(
    explicit_plugins: Sequence[DurableInstrumentationPluginFactory | DurableInstrumentationPlugin] | None,
    *,
    environment: Mapping[str, str] | None = None,
    entry_points: EntryPointSource | None = None,
) -> list[DurableInstrumentationPluginFactory]:
    """The handler's plugin factories: the explicit ones, then the configured ones.

    Args:
        explicit_plugins: the factories (or pre-3.0 plugin instances) passed to
            `durable_execution(plugins=...)`.
        environment: where to read `DURABLE_EXECUTION_PLUGINS` (default: `os.environ`).
        entry_points: lists a group's entry points (default: the installed ones).

    Returns:
        The factories, in registration order (explicit first, then by configured name).

    Raises:
        PluginLoadError: a factory is missing, ambiguous, fails to load, has the wrong
            shape, or shares an exclusive group with another.
    """
    candidates: list[object] = list(explicit_plugins or [])
    factories: list[object] = []
    try:
        factories = _check_explicit(candidates)
        names = configured_names(os.environ if environment is None else environment)
        if names:
            providers = _providers(entry_points or _installed_entry_points)
            for name in names:
                factory = _resolve(name, providers, candidates)
                if any(factory is known for known in factories):
                    logger.warning("plugin %r is already registered explicitly; skipped", name)
                    continue
                factories.append(factory)
        _check_exclusive_groups(factories)
    except Exception:
        _notify(candidates, registered=False)
        raise
    _notify(factories, registered=True)
    return cast(list[DurableInstrumentationPluginFactory], factories)


__all__ = [
    "PERDURE_ENTRY_POINT_GROUP",
    "PLUGIN_ENTRY_POINT_GROUP",
    "PLUGIN_ENVIRONMENT_VARIABLE",
    "configured_names",
    "describe",
    "is_plugin_factory",
    "load_configured_plugins",
]
