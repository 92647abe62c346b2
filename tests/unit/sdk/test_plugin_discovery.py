"""perdure.sdk.plugin_discovery: explicit factories, `DURABLE_EXECUTION_PLUGINS`, entry points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from perdure import DurableInstrumentationPlugin, InvocationStartInfo, PluginLoadError, durable_execution
from perdure.sdk.plugin._instances import InstanceFactory
from perdure.sdk.plugin_discovery import (
    PERDURE_ENTRY_POINT_GROUP,
    PLUGIN_ENTRY_POINT_GROUP,
    is_plugin_factory,
    load_configured_plugins,
)


class Plugin(DurableInstrumentationPlugin):
    pass


class PluginFactory:
    def create_plugin(self, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
        return Plugin()


class ClassFactory:
    @classmethod
    def create_plugin(cls, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
        return Plugin()


class StaticFactory:
    @staticmethod
    def create_plugin(info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
        return Plugin()


class TwoArguments:
    def create_plugin(self, info: InvocationStartInfo, extra: int) -> DurableInstrumentationPlugin:
        return Plugin()


class NotCallable:
    create_plugin = "nope"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (PluginFactory(), True),
        (ClassFactory, True),
        (StaticFactory, True),
        (PluginFactory, False),  # the class, not an instance: the info would bind to self
        (Plugin, False),
        (Plugin(), False),
        (lambda info: Plugin(), False),
        (TwoArguments(), False),
        (NotCallable(), False),
        (object(), False),
    ],
)
def test_factory_shape(value: object, ok: bool) -> None:
    assert is_plugin_factory(value) is ok


def test_explicit_factories_keep_their_order_and_the_wrong_shape_is_refused() -> None:
    a, b = PluginFactory(), PluginFactory()
    assert load_configured_plugins([a, ClassFactory, b], environment={}) == [a, ClassFactory, b]
    with pytest.raises(PluginLoadError, match=r"plugins\[1\] .* the class .*Plugin"):
        load_configured_plugins([a, Plugin], environment={})  # type: ignore[list-item]
    with pytest.raises(PluginLoadError, match=r"plugins\[0\] .* or a DurableInstrumentationPlugin instance"):
        durable_execution(plugins=[object()])  # type: ignore[list-item]


def test_a_plugin_instance_is_wrapped_in_its_factory_in_place() -> None:
    a, instance = PluginFactory(), Plugin()
    loaded = load_configured_plugins([a, instance], environment={})
    assert loaded[0] is a and isinstance(loaded[1], InstanceFactory) and loaded[1].instance is instance


@dataclass
class FakeEntryPoint:
    name: str
    value: str
    loaded: Any = None
    error: Exception | None = None
    dist: Any = None

    def load(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.loaded


FACTORY = PluginFactory()


def source(official: list[FakeEntryPoint], perdure: list[FakeEntryPoint] | None = None) -> Any:
    groups = {PLUGIN_ENTRY_POINT_GROUP: official, PERDURE_ENTRY_POINT_GROUP: perdure or []}
    return lambda group: groups[group]


def load(names: str, *entry_points: FakeEntryPoint, explicit: list[Any] | None = None) -> list[Any]:
    return load_configured_plugins(
        explicit,
        environment={"DURABLE_EXECUTION_PLUGINS": names},
        entry_points=source(list(entry_points)),
    )


def test_configured_names_resolve_through_entry_points_after_the_explicit_ones() -> None:
    explicit = PluginFactory()
    other = StaticFactory
    found = load(
        " otel , mine",
        FakeEntryPoint("mine", "pkg:MINE", FACTORY),
        FakeEntryPoint("otel", "pkg:OTEL", other),
        explicit=[explicit],
    )
    assert found == [explicit, other, FACTORY]


def test_the_perdure_group_is_searched_too() -> None:
    found = load_configured_plugins(
        None,
        environment={"DURABLE_EXECUTION_PLUGINS": "mine"},
        entry_points=source([], [FakeEntryPoint("mine", "pkg:MINE", FACTORY)]),
    )
    assert found == [FACTORY]


def test_an_explicit_factory_is_not_registered_twice() -> None:
    assert load("mine", FakeEntryPoint("mine", "pkg:MINE", FACTORY), explicit=[FACTORY]) == [FACTORY]


def test_no_variable_means_no_lookup() -> None:
    def fail(group: str) -> Any:
        raise AssertionError("entry points were listed")

    assert (
        load_configured_plugins(None, environment={"DURABLE_EXECUTION_PLUGINS": " "}, entry_points=fail) == []
    )


@pytest.mark.parametrize(
    ("names", "entry_points", "message"),
    [
        ("a,,b", [], "non-empty"),
        ("a,a", [], "more than once"),
        ("missing", [FakeEntryPoint("other", "pkg:X", FACTORY)], "no plugin provider named 'missing'.*other"),
        (
            "twice",
            [FakeEntryPoint("twice", "one:X", FACTORY), FakeEntryPoint("twice", "two:X", FACTORY)],
            "more than one plugin provider is named 'twice'",
        ),
        ("broken", [FakeEntryPoint("broken", "pkg:X", error=ImportError("no pkg"))], "cannot load.*no pkg"),
        ("plain", [FakeEntryPoint("plain", "pkg:Plugin", Plugin)], "must name a plugin factory"),
    ],
)
def test_configuration_errors(names: str, entry_points: list[FakeEntryPoint], message: str) -> None:
    with pytest.raises(PluginLoadError, match=message):
        load(names, *entry_points)


def test_a_listing_failure_is_a_load_error() -> None:
    def broken(group: str) -> Any:
        raise OSError("unreadable metadata")

    with pytest.raises(PluginLoadError, match="unreadable metadata"):
        load_configured_plugins(None, environment={"DURABLE_EXECUTION_PLUGINS": "x"}, entry_points=broken)


class Otel:
    __durable_registration_api__ = 1
    exclusive_group = "otel"
    results: list[bool]

    def __init__(self) -> None:
        self.results = []

    def create_plugin(self, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
        return Plugin()

    def on_registration_result(self, registered: bool) -> None:
        self.results.append(registered)


class OtherOtel(Otel):
    pass


class Unmarked(Otel):
    __durable_registration_api__ = 0  # an explicit unsupported marker opts out


def test_exclusive_groups() -> None:
    one, two = Otel(), OtherOtel()
    with pytest.raises(PluginLoadError, match=r"mutually exclusive.*'otel'"):
        load_configured_plugins([one, two], environment={})
    assert one.results == [False] and two.results == [False]

    three, unmarked = Otel(), Unmarked()
    assert load_configured_plugins([three, unmarked], environment={}) == [three, unmarked]
    assert three.results == [True] and unmarked.results == []
