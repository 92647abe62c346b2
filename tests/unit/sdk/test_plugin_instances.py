"""perdure.sdk.plugin._instances: plugin instances registered as before 3.0 (``plugins=[MyPlugin()]``)."""

from __future__ import annotations

import threading
from typing import Any

from perdure import (
    DurableContext,
    DurableInstrumentationPlugin,
    InvocationEndInfo,
    InvocationStartInfo,
    OperationEndInfo,
    OperationStartInfo,
    UserFunctionEndInfo,
    UserFunctionStartInfo,
    durable_execution,
)
from perdure.sdk.config import Duration

from .fakes import ARN, FakeService, run_to_end


class Recorder(DurableInstrumentationPlugin):
    """A pre-3.0 plugin: one instance, per-invocation state kept on ``self``."""

    def __init__(self) -> None:
        self.arn: str | None = None
        self.records: list[tuple[str | None, str]] = []
        self.infos: list[Any] = []
        self.started = threading.Event()

    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        self.started.set()
        self.arn = info.execution_arn
        self.infos.append(info)
        self.records.append((self.arn, "invocation-start"))

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.infos.append(info)
        self.records.append((self.arn, f"invocation-end {info.status.value}"))

    def on_operation_start(self, info: OperationStartInfo) -> None:
        self.records.append((self.arn, f"operation-start {info.name}"))

    def on_operation_end(self, info: OperationEndInfo) -> None:
        self.records.append((self.arn, f"operation-end {info.name}"))

    def on_user_function_start(self, info: UserFunctionStartInfo) -> None:
        self.records.append((self.arn, f"attempt-start {info.name}"))

    def on_user_function_end(self, info: UserFunctionEndInfo) -> None:
        self.records.append((self.arn, f"attempt-end {info.name} {info.outcome.value}"))


def test_an_instance_sees_every_invocation_with_the_pre_3_0_info_fields() -> None:
    recorder = Recorder()

    @durable_execution(plugins=[recorder])
    def handler(event: Any, ctx: DurableContext) -> str:
        value = ctx.step(lambda _: "one", name="one")
        ctx.wait(Duration.from_seconds(5), name="pause")
        return value

    output, invocations = run_to_end(handler, FakeService())
    assert output == {"Status": "SUCCEEDED", "Result": '"one"'} and invocations == 2
    assert [hook for _, hook in recorder.records] == [
        "invocation-start",
        "operation-start one",
        "attempt-start one",
        "attempt-end one SUCCEEDED",
        "operation-end one",
        "operation-start pause",
        "invocation-end PENDING",
        "invocation-start",  # the replay: completed records had their end hooks already
        "invocation-end SUCCEEDED",
    ]
    first_start, first_end, second_start, second_end = recorder.infos
    assert second_end.end_time >= second_start.start_time
    assert first_start.is_first_invocation and first_start.start_time is not None
    assert first_end.start_time == first_start.start_time and first_end.end_time >= first_start.start_time
    # After the first invocation, start_time is the execution's start (as the SDK before 3.0 set it).
    assert second_start.start_time == second_start.execution_start_time
    assert {arn for arn, _ in recorder.records} == {ARN}


def test_an_instance_sees_one_invocation_at_a_time_when_invocations_run_concurrently() -> None:
    recorder = Recorder()
    other = ARN.replace("exec-1", "exec-2")
    other_arrived = threading.Event()

    class Probe(DurableInstrumentationPlugin):
        # A 3.0 plugin (one per invocation, never blocked) registered before the instance:
        # it tells when the second invocation has reached the instance's start hook.
        def on_invocation_start(self, info: InvocationStartInfo) -> None:
            if info.execution_arn == other:
                other_arrived.set()

    class ProbeFactory:
        def create_plugin(self, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
            return Probe()

    @durable_execution(plugins=[ProbeFactory(), recorder])
    def handler(event: Any, ctx: DurableContext) -> str:
        def body(_: Any) -> str:
            if event == "first":
                # The second invocation starts while this one runs its step.
                assert other_arrived.wait(30), "the second invocation never started"
            return str(event)

        return ctx.step(body, name="work")

    outputs: dict[str, Any] = {}
    second = threading.Thread(
        target=lambda: outputs.update(b=handler(FakeService('"second"', arn=other).invocation(), None))
    )

    first_service = FakeService('"first"')
    first = threading.Thread(target=lambda: outputs.update(a=handler(first_service.invocation(), None)))
    first.start()
    assert recorder.started.wait(30)  # the first invocation holds the instance
    second.start()
    first.join(60)
    second.join(60)
    assert outputs == {
        "a": {"Status": "SUCCEEDED", "Result": '"first"'},
        "b": {"Status": "SUCCEEDED", "Result": '"second"'},
    }
    arns = [arn for arn, _ in recorder.records]
    assert arns == [ARN] * 6 + [other] * 6, recorder.records
