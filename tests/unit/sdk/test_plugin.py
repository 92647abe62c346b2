"""perdure.sdk.plugin: when each hook fires, what it carries, and that plugins cannot hurt.

Handlers run against the dict-backed fake service; a recording plugin appends
``(hook, info)`` to a list its factory shares.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

from perdure import (
    ChildConfig,
    DurableContext,
    DurableInstrumentationPlugin,
    Duration,
    InvocationEndInfo,
    InvocationStartInfo,
    InvocationStatus,
    OperationChangeInfo,
    OperationEndInfo,
    OperationStartInfo,
    PropagationInput,
    PropagationMetadata,
    RetryPresets,
    StepConfig,
    StepContext,
    UserFunctionEndInfo,
    UserFunctionOutcome,
    UserFunctionStartInfo,
    durable_execution,
)
from perdure.sdk.errors import CheckpointError
from perdure.sdk.execution import InvocationInputWithClient
from perdure.sdk.operations._base import OperationIdentity
from perdure.sdk.plugin import PluginDispatcher
from perdure.sdk.retries import RetryDecision
from perdure.wire.errors import ServiceError
from perdure.wire.types import OperationStatus, OperationType

from .fakes import FakeService

Event = tuple[str, Any]

HOOKS = (
    "on_invocation_start",
    "on_invocation_end",
    "on_operation_start",
    "on_operation_end",
    "on_user_function_start",
    "on_user_function_end",
)


class Recorder(DurableInstrumentationPlugin):
    """Appends every hook call (except changes, which are asynchronous) to `events`."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events

    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        self.events.append(("invocation_start", info))

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.events.append(("invocation_end", info))

    def on_operation_start(self, info: OperationStartInfo) -> None:
        self.events.append(("operation_start", info))

    def on_operation_end(self, info: OperationEndInfo) -> None:
        self.events.append(("operation_end", info))

    def on_user_function_start(self, info: UserFunctionStartInfo) -> None:
        self.events.append(("user_function_start", info))

    def on_user_function_end(self, info: UserFunctionEndInfo) -> None:
        self.events.append(("user_function_end", info))


class Factory:
    def __init__(self, plugin_class: type[DurableInstrumentationPlugin] = Recorder) -> None:
        self.events: list[Event] = []
        self.infos: list[InvocationStartInfo] = []
        self.plugin_class = plugin_class

    def create_plugin(self, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
        self.infos.append(info)
        return self.plugin_class(self.events)  # type: ignore[call-arg]

    def hooks(self) -> list[str]:
        return [name for name, _ in self.events]

    def of(self, hook: str) -> list[Any]:
        return [info for name, info in self.events if name == hook]

    def take(self) -> list[Event]:
        events = list(self.events)
        self.events.clear()
        return events


def updated(service: FakeService, *ids: str) -> InvocationInputWithClient:
    """The next invocation, naming `ids` as updated while the execution was suspended."""
    invocation = service.invocation()
    return replace(invocation, input=replace(invocation.input, updated_operation_ids=ids))


# ------------------------------------------------------------------ invocation hooks


def test_a_single_step_fires_every_hook_once_in_order() -> None:
    factory = Factory()

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> str:
        return ctx.step(lambda _: f"hi {event['name']}", name="greet")

    output = handler(FakeService('{"name": "ann"}').invocation(), None)

    assert output == {"Status": "SUCCEEDED", "Result": '"hi ann"'}
    assert factory.hooks() == [
        "invocation_start",
        "operation_start",
        "user_function_start",
        "user_function_end",
        "operation_end",
        "invocation_end",
    ]
    start, end = factory.of("invocation_start")[0], factory.of("invocation_end")[0]
    assert start is factory.infos[0], "create_plugin gets the info on_invocation_start gets"
    assert start.is_first_invocation and start.execution_arn == FakeService().arn
    assert start.execution_input == {"name": "ann"} and start.updated_operations == {}
    assert [op.operation_type for op in start.operations.values()] == [OperationType.EXECUTION]
    assert end.status is InvocationStatus.SUCCEEDED and end.status == "SUCCEEDED"
    assert end.execution_result == '"hi ann"' and end.error is None
    step_id = factory.of("operation_start")[0].operation_id
    assert end.operations[step_id].status is OperationStatus.SUCCEEDED
    assert end.operations[step_id].result == '"hi ann"'


def test_the_plugins_get_a_copy_of_the_input() -> None:
    class Mutator(Recorder):
        def on_invocation_start(self, info: InvocationStartInfo) -> None:
            info.execution_input["name"] = "mallory"

    @durable_execution(plugins=[Factory(Mutator)])
    def handler(event: Any, ctx: DurableContext) -> str:
        return str(event["name"])

    assert handler(FakeService('{"name": "ann"}').invocation(), None)["Result"] == '"ann"'


def test_one_plugin_instance_per_invocation() -> None:
    factory = Factory()

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> None:
        ctx.wait(Duration.from_seconds(5))

    service = FakeService()
    handler(service.invocation(), None)
    service.advance()
    handler(service.invocation(), None)
    assert len(factory.infos) == 2
    assert [i.is_first_invocation for i in factory.infos] == [True, False]
    ends = factory.of("invocation_end")
    assert [e.status for e in ends] == [InvocationStatus.PENDING, InvocationStatus.SUCCEEDED]
    assert ends[0].execution_result is None


def test_a_failed_execution_ends_failed_with_its_error() -> None:
    factory = Factory()

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> None:
        ctx.step(lambda _: 1 / 0, config=StepConfig(retry_strategy=RetryPresets.none()))

    assert handler(FakeService().invocation(), None)["Status"] == "FAILED"
    end = factory.of("invocation_end")[0]
    assert end.status is InvocationStatus.FAILED
    assert end.error is not None and end.error.error_type is not None and end.execution_result is None
    [op_end] = factory.of("operation_end")
    assert op_end.status is OperationStatus.FAILED and op_end.error.error_type == "ZeroDivisionError"
    [uf_end] = factory.of("user_function_end")
    assert uf_end.outcome is UserFunctionOutcome.FAILED and uf_end.error.error_type == "ZeroDivisionError"


def test_an_invocation_that_raises_ends_with_retry() -> None:
    factory = Factory()

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> None:
        ctx.wait(Duration.from_seconds(5))

    service = FakeService()
    service.fail_next = ServiceError("down")
    with pytest.raises(CheckpointError):
        handler(service.invocation(), None)
    end = factory.of("invocation_end")[0]
    assert end.status is InvocationStatus.RETRY and end.error is not None


# ------------------------------------------------------------------- operation hooks


def test_a_retried_step_reports_each_attempt_and_one_end() -> None:
    factory = Factory()
    retry = StepConfig(retry_strategy=lambda error, attempts: RetryDecision.retry(Duration.from_seconds(1)))

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> str:
        def flaky(step: StepContext) -> str:
            if step.attempt == 1:
                raise ConnectionError("first attempt fails")
            return "ok"

        return ctx.step(flaky, config=retry)

    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    first = factory.take()
    service.advance()
    step_id = next(iter(set(service.ops) - {"inv-1"}))
    assert handler(updated(service, step_id), None)["Status"] == "SUCCEEDED"
    second = factory.take()

    attempts = [
        (name, info.attempt, getattr(info, "outcome", None))
        for name, info in first + second
        if name.startswith("user_function")
    ]
    assert attempts == [
        ("user_function_start", 1, None),
        ("user_function_end", 1, UserFunctionOutcome.FAILED),
        ("user_function_start", 2, None),
        ("user_function_end", 2, UserFunctionOutcome.SUCCEEDED),
    ]
    assert [i.is_replayed for n, i in first if n == "operation_start"] == [False]
    assert [i.is_replayed for n, i in second if n == "operation_start"] == [True]
    assert [n for n, _ in first if n == "operation_end"] == []
    [end] = [i for n, i in second if n == "operation_end"]
    assert end.operation_id == step_id and end.status is OperationStatus.SUCCEEDED


def test_a_wait_completed_while_suspended_ends_once_in_the_next_invocation() -> None:
    factory = Factory()

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> str:
        ctx.wait(Duration.from_seconds(2))
        return "done"

    service = FakeService()
    handler(service.invocation(), None)
    first = factory.take()
    [start] = [i for n, i in first if n == "operation_start"]
    assert start.operation_type is OperationType.WAIT and not start.is_replayed
    assert "operation_end" not in [n for n, _ in first]

    service.advance()
    handler(updated(service, start.operation_id), None)
    second = factory.take()
    assert [n for n, _ in second] == ["invocation_start", "operation_end", "invocation_end"]
    assert second[0][1].updated_operations[start.operation_id].status is OperationStatus.SUCCEEDED
    assert second[1][1].operation_id == start.operation_id

    handler(service.invocation(), None)  # a later replay does not report the wait again
    assert [n for n, _ in factory.take()] == ["invocation_start", "invocation_end"]


def test_a_live_operation_replays_with_a_start_hook() -> None:
    factory = Factory()

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> None:
        ctx.wait(Duration.from_seconds(60))

    service = FakeService()
    handler(service.invocation(), None)
    factory.take()
    handler(service.invocation(), None)  # woken early: the wait is still STARTED
    [start] = factory.of("operation_start")
    assert start.is_replayed and start.status is OperationStatus.STARTED


def test_a_terminal_operation_nobody_reads_ends_before_the_invocation() -> None:
    factory = Factory()
    reach_the_wait = [True]

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> str:
        if reach_the_wait[0]:
            ctx.wait(Duration.from_seconds(2))
        return "done"

    service = FakeService()
    handler(service.invocation(), None)
    wait_id = factory.of("operation_start")[0].operation_id
    factory.take()
    service.advance()
    reach_the_wait[0] = False
    handler(updated(service, wait_id), None)
    assert factory.hooks() == ["invocation_start", "operation_end", "invocation_end"]


def test_child_contexts_report_their_body_and_suspension_is_incomplete() -> None:
    factory = Factory()

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> None:
        ctx.run_in_child_context(lambda child: child.wait(Duration.from_seconds(2)), name="block")

    handler(FakeService().invocation(), None)
    [body_end] = factory.of("user_function_end")
    assert body_end.operation_type is OperationType.CONTEXT and body_end.name == "block"
    assert body_end.outcome is UserFunctionOutcome.INCOMPLETE and body_end.attempt is None
    starts = factory.of("operation_start")
    assert [s.operation_type for s in starts] == [OperationType.CONTEXT, OperationType.WAIT]
    assert starts[1].parent_id == starts[0].operation_id


def test_a_virtual_child_context_reports_its_end_without_a_record() -> None:
    factory = Factory()

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.run_in_child_context(lambda child: 7, config=ChildConfig(is_virtual=True))

    assert handler(FakeService().invocation(), None)["Result"] == "7"
    [end] = factory.of("operation_end")
    assert end.operation_type is OperationType.CONTEXT and end.status is OperationStatus.SUCCEEDED
    assert factory.of("operation_start") == []


# -------------------------------------------------------------------- change hooks


class ChangeRecorder(Recorder):
    def on_operation_change(self, info: OperationChangeInfo) -> None:
        self.events.append(("operation_change", (info, threading.current_thread().name)))


def test_changes_arrive_on_the_change_thread_before_the_invocation_ends() -> None:
    factory = Factory(ChangeRecorder)

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> str:
        return ctx.step(lambda _: "x", name="s")

    handler(FakeService().invocation(), None)
    changes = factory.of("operation_change")
    assert changes and factory.hooks()[-1] == "invocation_end"
    assert all(thread.startswith("perdure-plugin-change") for _, thread in changes)
    step_id = factory.of("operation_start")[0].operation_id
    latest = changes[-1][0]
    assert latest.execution_arn == FakeService().arn
    assert latest.updated_operations[step_id].status is OperationStatus.SUCCEEDED
    assert latest.operations[step_id].status is OperationStatus.SUCCEEDED


def test_no_change_thread_unless_a_plugin_listens() -> None:
    before = {t.name for t in threading.enumerate()}
    seen: list[set[str]] = []

    @durable_execution(plugins=[Factory()])
    def handler(event: Any, ctx: DurableContext) -> None:
        seen.append({t.name for t in threading.enumerate()} - before)

    handler(FakeService().invocation(), None)
    assert not any(name.startswith("perdure-plugin-change") for name in seen[0])


def test_queued_changes_merge_into_one_notification() -> None:
    delivered: list[tuple[dict[str, Any], Any]] = []
    gate = threading.Event()
    from perdure.sdk.plugin._dispatcher import _ChangeWorker
    from perdure.wire.types import Operation

    def deliver(updated_ops: dict[str, Any], operations: Any) -> None:
        gate.wait()
        delivered.append((dict(updated_ops), operations))

    def op(status: OperationStatus) -> Operation:
        return Operation(id="a", type=OperationType.STEP, status=status, start_timestamp=None)  # type: ignore[arg-type]

    worker = _ChangeWorker("arn", {}, deliver)
    worker.submit([op(OperationStatus.STARTED)])  # taken at once, blocked in delivery
    worker.submit([op(OperationStatus.PENDING)])
    worker.submit([op(OperationStatus.SUCCEEDED)])
    gate.set()
    worker.close()
    assert len(delivered) <= 2
    assert delivered[-1][0]["a"].status is OperationStatus.SUCCEEDED


# --------------------------------------------------------------------- containment


class Faulty(DurableInstrumentationPlugin):
    """Every hook records its call, then raises."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events

    def fail(self, hook: str, info: Any) -> None:
        self.events.append((hook, info))
        raise RuntimeError(f"{hook} fails")

    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        self.fail("on_invocation_start", info)

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.fail("on_invocation_end", info)

    def on_operation_start(self, info: OperationStartInfo) -> None:
        self.fail("on_operation_start", info)

    def on_operation_end(self, info: OperationEndInfo) -> None:
        self.fail("on_operation_end", info)

    def on_operation_change(self, info: OperationChangeInfo) -> None:
        self.fail("on_operation_change", info)

    def on_user_function_start(self, info: UserFunctionStartInfo) -> None:
        self.fail("on_user_function_start", info)

    def on_user_function_end(self, info: UserFunctionEndInfo) -> None:
        self.fail("on_user_function_end", info)


def test_failing_hooks_change_nothing(caplog: pytest.LogCaptureFixture) -> None:
    def run(plugins: list[Any]) -> tuple[dict[str, Any], list[Any]]:
        @durable_execution(plugins=plugins)
        def handler(event: Any, ctx: DurableContext) -> str:
            ctx.run_in_child_context(lambda child: child.step(lambda _: 1, name="inner"))
            return ctx.step(lambda _: "hi", name="greet")

        service = FakeService()
        return handler(service.invocation(), None), service.updates()

    faulty = Factory(Faulty)
    healthy = Factory()
    assert run([faulty, healthy]) == run([])
    assert {name for name, _ in faulty.events} >= set(HOOKS) | {"on_operation_change"}
    assert healthy.hooks()[0] == "invocation_start" and healthy.hooks()[-1] == "invocation_end"
    assert "Faulty ignored" in caplog.text


def test_broken_factories_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    class Raising:
        def create_plugin(self, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
            raise ValueError("no plugin today")

    class ReturnsNone:
        def create_plugin(self, info: InvocationStartInfo, /) -> Any:
            return None

    healthy = Factory()

    @durable_execution(plugins=[Raising(), ReturnsNone(), healthy])
    def handler(event: Any, ctx: DurableContext) -> int:
        return 1

    assert handler(FakeService().invocation(), None)["Status"] == "SUCCEEDED"
    assert healthy.hooks() == ["invocation_start", "invocation_end"]
    assert "Raising ignored" in caplog.text
    assert "not a DurableInstrumentationPlugin" in caplog.text


@pytest.mark.parametrize("control", [KeyboardInterrupt, SystemExit])
def test_control_exceptions_propagate(control: type[BaseException]) -> None:
    class Stopping(Recorder):
        def on_user_function_start(self, info: UserFunctionStartInfo) -> None:
            raise control()

    factory = Factory(Stopping)

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.step(lambda _: 1)

    with pytest.raises(control):
        handler(FakeService().invocation(), None)
    assert factory.of("invocation_end")[0].status is InvocationStatus.RETRY


def test_every_plugin_ends_even_when_one_interrupts_its_end_hook() -> None:
    class Interrupting(Recorder):
        def on_invocation_end(self, info: InvocationEndInfo) -> None:
            raise KeyboardInterrupt

    first, second = Factory(Interrupting), Factory()

    @durable_execution(plugins=[first, second])
    def handler(event: Any, ctx: DurableContext) -> int:
        return 1

    with pytest.raises(KeyboardInterrupt):
        handler(FakeService().invocation(), None)
    assert second.hooks() == ["invocation_start", "invocation_end"]


def test_a_plugin_free_invocation_touches_no_plugin_state() -> None:
    from perdure.sdk.plugin import NO_PLUGINS

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        assert ctx.state.plugins is NO_PLUGINS
        return ctx.step(lambda _: 1)

    assert handler(FakeService().invocation(), None)["Result"] == "1"
    assert not NO_PLUGINS.has_plugins and not NO_PLUGINS._ended


# --------------------------------------------------------------------- propagation


def test_propagation_metadata_takes_the_first_non_blank_value() -> None:
    class Blank(DurableInstrumentationPlugin):
        def provide_propagation_metadata(self, info: PropagationInput) -> PropagationMetadata | None:
            return PropagationMetadata(x_amzn_trace_id="  ")

    class Broken(DurableInstrumentationPlugin):
        def provide_propagation_metadata(self, info: PropagationInput) -> PropagationMetadata | None:
            raise RuntimeError("no")

    seen: list[PropagationInput] = []

    class Tracing(DurableInstrumentationPlugin):
        def provide_propagation_metadata(self, info: PropagationInput) -> PropagationMetadata | None:
            seen.append(info)
            return PropagationMetadata(x_amzn_trace_id=f"Root=1-{info.operation_id}")

    class Fixed:
        def __init__(self, plugin: DurableInstrumentationPlugin) -> None:
            self.plugin = plugin

        def create_plugin(self, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
            return self.plugin

    dispatcher = PluginDispatcher([Fixed(Blank()), Fixed(Broken()), Fixed(Tracing()), Fixed(Tracing())])
    service = FakeService()
    dispatcher.invocation_started(
        execution_arn=service.arn,
        operations=service.ops,
        updated_operation_ids=(),
        execution_input={},
        lambda_context=None,
    )
    identity = OperationIdentity("op-1", OperationType.CHAINED_INVOKE, "ChainedInvoke", "parent", "call")
    metadata = dispatcher.propagation_metadata(identity, "target-fn")
    assert metadata == PropagationMetadata(x_amzn_trace_id="Root=1-op-1")
    assert seen == [PropagationInput(service.arn, "op-1", "target-fn", "parent")]
    assert PluginDispatcher().propagation_metadata(identity, "target-fn") == PropagationMetadata()


def test_map_branch_ends_are_reported_right_after_their_checkpoint() -> None:
    """With a plugin, a branch's SUCCEED stays sync (docs/concurrency.md), so its
    `on_operation_end` fires on its own thread, before the batch's, not at the end."""
    factory = Factory()

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> Any:
        result = ctx.map([1, 2, 3, 4], lambda c, item, i, items: c.step(lambda _: item * 10))
        return result.get_results()

    output = handler(FakeService().invocation(), None)
    assert output["Result"] == "[10, 20, 30, 40]"
    ends = [info.sub_type for info in factory.of("operation_end")]
    assert ends.count("MapIteration") == 4
    assert ends.index("Map") > max(i for i, sub in enumerate(ends) if sub == "MapIteration")
    hooks = factory.hooks()
    assert hooks.index("invocation_end") > max(i for i, name in enumerate(hooks) if name == "operation_end")
    names = [(name, getattr(info, "sub_type", None)) for name, info in factory.events]
    # every branch's end comes before the Map's end, which comes before the invocation's
    assert names.index(("operation_end", "Map")) < names.index(("invocation_end", None))


def test_a_batch_start_carries_its_item_count_also_when_it_replays_live() -> None:
    """`OperationStartInfo.branch_count`: a map's items, a parallel's branches, None else;
    a map interrupted by a suspension reports it again when the next invocation resumes it."""
    factory = Factory()

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> Any:
        ctx.parallel([lambda c: 1, lambda c: 2])
        return ctx.map([1, 2, 3], lambda c, item, i, items: c.wait(Duration.from_seconds(item))).get_results()

    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "PENDING"
    starts = {info.sub_type: info.branch_count for info in factory.of("operation_start")}
    assert starts["Parallel"] == 2 and starts["Map"] == 3
    assert starts["ParallelBranch"] is None and starts["MapIteration"] is None
    assert starts["Wait"] is None
    factory.take()
    assert handler(service.invocation(), None)["Status"] == "PENDING"  # woken early: all still wait
    [replayed] = [info for info in factory.of("operation_start") if info.sub_type == "Map"]
    assert replayed.is_replayed and replayed.branch_count == 3
