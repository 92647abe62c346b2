"""Large payloads end to end: the SDK on the embedded engine through the in-process link.

Each handler runs under `DurableTestRunner` (time skipped). A recording proxy sits between
the SDK and the engine's service, so the tests see the exact checkpoint requests the SDK
sent, the service errors it got, and every invocation's output.

Covered: a step result over 256 KiB fails clearly and once; the
same step with `OffloadSerDes` succeeds and replays the exact value, and a missing or
altered blob fails the replay loudly; a child context over 256 KiB is recorded with
ReplayChildren and rebuilt on replay (conformance 3-11 semantics), nested ones too, across
several resumes; an execution result over 6 MiB goes through an EXECUTION update and
comes back whole from the engine and from `perdure run --json`; an oversize payload is
refused by the engine with InvalidParameterValueException and not retried.
"""

from __future__ import annotations

import itertools
import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from perdure import (
    CallbackConfig,
    ChildConfig,
    DurableContext,
    Duration,
    InvokeConfig,
    MapConfig,
    RetryPresets,
    StepConfig,
    durable_execution,
)
from perdure.link.inprocess import InProcessInvocable
from perdure.sdk.offload import BlobReference, LocalDirectoryBlobStore, OffloadSerDes
from perdure.sdk.operations import child_context
from perdure.sdk.serdes import PassThroughSerDes, SerDesContext
from perdure.testing import DurableTestRunner, ExecutionResult
from perdure.wire.codec import error_size
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.limits import MAX_ERROR_BYTES, MAX_OPERATION_PAYLOAD_BYTES, MAX_RESPONSE_BYTES
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    EventType,
    GetDurableExecutionRequest,
    GetDurableExecutionStateRequest,
    GetDurableExecutionStateResponse,
    InvocationInput,
    OperationAction,
    OperationType,
    OperationUpdate,
    SendDurableExecutionCallbackSuccessRequest,
)

from .helpers import last_json, run_cli

_names = itertools.count(1)


class RecordingClient:
    """The engine's service, with every checkpoint request and service error recorded."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.requests: list[CheckpointDurableExecutionRequest] = []
        self.errors: list[Exception] = []

    def checkpoint_durable_execution(
        self, request: CheckpointDurableExecutionRequest
    ) -> CheckpointDurableExecutionResponse:
        self.requests.append(request)
        try:
            response: CheckpointDurableExecutionResponse = self.service.checkpoint_durable_execution(request)
        except Exception as exc:
            self.errors.append(exc)
            raise
        return response

    def get_durable_execution_state(
        self, request: GetDurableExecutionStateRequest
    ) -> GetDurableExecutionStateResponse:
        response: GetDurableExecutionStateResponse = self.service.get_durable_execution_state(request)
        return response

    def updates(self) -> list[OperationUpdate]:
        return [u for r in self.requests for u in r.updates]


class Recorded:
    """A registered handler, its recording client, and what each invocation saw and returned."""

    def __init__(self, runner: DurableTestRunner, handler: Callable[..., dict[str, Any]]) -> None:
        self.runner = runner
        self.client = RecordingClient(runner.engine.service)
        self.inputs: list[InvocationInput] = []
        self.outputs: list[dict[str, Any]] = []
        self.name = f"large-{next(_names)}"

        def lambda_handler(event: Any, lambda_context: Any) -> dict[str, Any]:
            self.inputs.append(event.input)
            output = handler(event, lambda_context)
            self.outputs.append(output)
            return output

        runner.engine.register_function(self.name, InProcessInvocable(lambda_handler, self.client))

    def run(self, input: Any = None) -> ExecutionResult:
        return self.runner.run(self.name, input)


@pytest.fixture(params=["memory", "sqlite"])
def runner(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DurableTestRunner]:
    """A runner with time skipped, on the memory store and on a SQLite file."""
    if request.param == "memory":
        made = DurableTestRunner.start_time_skipping()
    else:
        made = DurableTestRunner.start_local(
            str(tmp_path_factory.mktemp("db") / "perdure.db"), skip_time=True
        )
    with made as runner:
        yield runner


def _events(result: ExecutionResult, *types: EventType) -> list[Any]:
    return [e for e in result.history if e.event_type in types]


# ----------------------------------------------------------------------------- steps


def test_a_step_result_over_256_kib_fails_clearly_once_and_is_not_retried(runner: DurableTestRunner) -> None:
    attempts: list[int] = []

    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        def produce(step_context: Any) -> str:
            attempts.append(step_context.attempt)
            return "x" * 300_000

        return len(context.step(produce, name="produce"))

    recorded = Recorded(runner, handler)
    result = recorded.run()
    assert result.status == "FAILED"
    assert attempts == [1], "an oversize result must not be retried"
    assert result.invocations == 1
    step = result.operation("produce")
    assert step.status == "FAILED" and step.attempts == 1
    message = (result.error.error_message if result.error else "") or ""
    assert "'produce'" in message and step.id in message
    assert "300,002 bytes" in message and "262,144" in message
    assert "OffloadSerDes" in message, f"the error should point at the offload serdes: {message}"
    # Nothing oversize was ever sent: the SDK refused before checkpointing the result.
    assert recorded.client.errors == []
    assert all(
        (u.payload is None or len(u.payload) <= MAX_OPERATION_PAYLOAD_BYTES)
        for u in recorded.client.updates()
    )


def _offload_handler(store_dir: Path, seen: list[Any], runs: list[int], value: Any) -> Callable[..., Any]:
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=LocalDirectoryBlobStore(store_dir))

    @durable_execution
    def handler(event: Any, context: DurableContext) -> dict[str, Any]:
        def produce(_: Any) -> Any:
            runs.append(1)
            return value

        got = context.step(produce, name="produce", config=StepConfig(serdes=serdes))
        seen.append(got)
        context.wait(Duration.from_seconds(30), name="pause")
        return {"rows": len(got["rows"]), "same": got == value}

    return handler


BIG_VALUE = {"rows": [{"i": i, "text": "é" + "r" * 99} for i in range(4000)], "tag": ("a", 1)}


def test_an_offloaded_step_result_succeeds_and_replays_the_exact_value(
    runner: DurableTestRunner, tmp_path: Path
) -> None:
    seen: list[Any] = []
    runs: list[int] = []
    recorded = Recorded(runner, _offload_handler(tmp_path, seen, runs, BIG_VALUE))
    result = recorded.run()
    assert result.status == "SUCCEEDED", result.error
    assert result.result == {"rows": 4000, "same": True}
    assert result.invocations == 2
    assert runs == [1], "the step body ran again on replay"
    assert seen == [BIG_VALUE, BIG_VALUE]
    assert isinstance(seen[1]["tag"], tuple)
    # The checkpoint holds a small reference; the blob holds the value.
    step = result.operation("produce")
    assert step.raw_result is not None and len(step.raw_result) < 1000
    reference = BlobReference.from_payload(step.raw_result)
    assert reference is not None and reference.size > MAX_OPERATION_PAYLOAD_BYTES
    assert (tmp_path / reference.ref).stat().st_size == reference.size


@pytest.mark.parametrize("damage", ["delete", "alter"])
def test_a_missing_or_altered_blob_fails_the_replay_instead_of_returning_a_wrong_value(
    runner: DurableTestRunner, tmp_path: Path, damage: str
) -> None:
    seen: list[Any] = []
    recorded = Recorded(runner, _offload_handler(tmp_path, seen, [], BIG_VALUE))
    arn = runner.start(recorded.name)
    runner.engine.run_until_idle()  # the first invocation: the step ran, the wait is pending
    (blob,) = [p for p in tmp_path.rglob("*") if p.is_file()]
    if damage == "delete":
        blob.unlink()
    else:
        blob.write_bytes(blob.read_bytes().replace(b'"i":{"t":"i","v":7}', b'"i":{"t":"i","v":8}'))
    runner.engine.drive(arn)
    result = runner.result(arn)
    assert result.status == "FAILED"
    assert len(seen) == 1, "a replay saw a value although its blob is gone or altered"
    message = (result.error.error_message if result.error else "") or ""
    assert str(blob.relative_to(tmp_path)) in message
    assert result.operation("produce").id in message
    assert ("missing" if damage == "delete" else "altered") in message


# ---------------------------------------------------------------------- child contexts


def test_a_child_context_over_256_kib_replays_its_children(runner: DurableTestRunner) -> None:
    runs = {"body": 0, "steps": 0}

    @durable_execution
    def handler(event: Any, context: DurableContext) -> list[Any]:
        def body(child: DurableContext) -> list[str]:
            runs["body"] += 1
            parts = []
            for i in range(3):

                def make(_: Any, i: int = i) -> str:
                    runs["steps"] += 1
                    return "abc"[i] * 150_000

                parts.append(child.step(make, name=f"part-{i}"))
            return parts

        parts = context.run_in_child_context(body, name="assemble")
        context.wait(Duration.from_seconds(5), name="after")
        return [len(p) for p in parts] + [p[0] for p in parts]

    recorded = Recorded(runner, handler)
    result = recorded.run()
    assert result.status == "SUCCEEDED", result.error
    assert result.result == [150_000, 150_000, 150_000, "a", "b", "c"]
    assert result.invocations == 2
    assert runs == {"body": 2, "steps": 3}, "inner steps must replay from their own checkpoints"
    context_id = result.operation("assemble").id
    succeeded = [
        u for u in recorded.client.updates() if u.id == context_id and u.action is OperationAction.SUCCEED
    ]
    assert len(succeeded) == 1, "the context's terminal checkpoint must be written once"
    assert succeeded[0].payload == ""
    assert succeeded[0].context_options is not None and succeeded[0].context_options.replay_children
    # The service hands the children's records back (ReplayChildren) on the replay.
    replay_ops = {op.id: op for op in recorded.inputs[1].initial_execution_state.operations}
    assert replay_ops[context_id].context_details is not None
    assert replay_ops[context_id].context_details.replay_children is True
    assert sum(1 for op in replay_ops.values() if op.parent_id == context_id) == 3
    assert len(_events(result, EventType.CONTEXT_SUCCEEDED)) == 1


@pytest.mark.parametrize("kind", ["child context", "map"])
def test_a_summary_over_256_kib_fails_clearly_before_anything_oversize_is_sent(
    runner: DurableTestRunner, kind: str
) -> None:
    def summary(_: Any) -> str:
        return "s" * 300_000

    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        if kind == "map":
            batch = context.map(
                [0, 1],
                lambda ctx, item, index, items: "x" * 150_000,
                name="big",
                config=MapConfig(summary_generator=summary),
            )
            return len(batch.get_results())
        config: ChildConfig[Any] = ChildConfig(summary_generator=summary)
        return len(context.run_in_child_context(lambda child: "x" * 300_000, name="big", config=config))

    recorded = Recorded(runner, handler)
    result = recorded.run()
    assert result.status == "FAILED"
    message = (result.error.error_message if result.error else "") or ""
    assert f"{kind} 'big'" in message and "summary" in message, message
    assert "262,144" in message and "summary_generator" in message, message
    assert recorded.client.errors == [], "nothing oversize may reach the service"
    assert result.operation("big").status == "FAILED"


def test_nested_child_contexts_over_256_kib_survive_several_resumes(runner: DurableTestRunner) -> None:
    body_runs = {"outer": 0, "inner": 0}

    @durable_execution
    def handler(event: Any, context: DurableContext) -> list[int]:
        def inner(child: DurableContext) -> str:
            body_runs["inner"] += 1
            return child.step(lambda _: "i" * 200_000, name="inner-step") * 2

        def outer(child: DurableContext) -> dict[str, str]:
            body_runs["outer"] += 1
            nested = child.run_in_child_context(inner, name="inner")
            return {"nested": nested, "own": child.step(lambda _: "o" * 100_000, name="outer-step")}

        value = context.run_in_child_context(outer, name="outer")
        context.wait(Duration.from_seconds(5), name="first")
        again = context.run_in_child_context(outer, name="outer-again")
        context.wait(Duration.from_seconds(5), name="second")
        return [len(value["nested"]), len(value["own"]), len(again["nested"]), int(value == again)]

    result = Recorded(runner, handler).run()
    assert result.status == "SUCCEEDED", result.error
    assert result.result == [400_000, 100_000, 400_000, 1]
    assert result.invocations == 3
    # invocation 1 runs outer once and outer-again never; each resume re-runs the bodies
    # of the ReplayChildren contexts it passes through.
    assert body_runs == {"outer": 1 + 2 + 2, "inner": 1 + 2 + 2}
    assert len(_events(result, EventType.CONTEXT_SUCCEEDED)) == 4
    assert len(_events(result, EventType.STEP_STARTED)) == 4


@pytest.mark.parametrize(("size", "replay_children"), [(262_144, False), (262_145, True)])
def test_the_context_threshold_is_strictly_over_256_kib_in_utf8_bytes(
    runner: DurableTestRunner, size: int, replay_children: bool
) -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        # Stored as is (pass-through): "é" is 2 bytes, so the text is `size` bytes in
        # `size - 1` characters.
        config: ChildConfig[Any] = ChildConfig(serdes=PassThroughSerDes())
        value = context.run_in_child_context(lambda child: "é" + "x" * (size - 2), name="edge", config=config)
        return len(value)

    recorded = Recorded(runner, handler)
    result = recorded.run()
    assert result.status == "SUCCEEDED", result.error
    assert result.result == size - 1
    (succeed,) = [
        u
        for u in recorded.client.updates()
        if u.type is OperationType.CONTEXT and u.action is OperationAction.SUCCEED
    ]
    assert bool(succeed.context_options and succeed.context_options.replay_children) is replay_children
    assert (succeed.payload == "") is replay_children


def test_a_child_context_with_the_offload_serdes_needs_no_replay_children(
    runner: DurableTestRunner, tmp_path: Path
) -> None:
    body_runs: list[int] = []
    serdes: OffloadSerDes[Any] = OffloadSerDes(store=LocalDirectoryBlobStore(tmp_path))

    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        def body(child: DurableContext) -> str:
            body_runs.append(1)
            return "q" * 400_000

        value = context.run_in_child_context(body, name="offloaded", config=ChildConfig(serdes=serdes))
        context.wait(Duration.from_seconds(5))
        return len(value)

    recorded = Recorded(runner, handler)
    result = recorded.run()
    assert result.status == "SUCCEEDED" and result.result == 400_000
    assert body_runs == [1], "a stored (offloaded) child result must not re-run the body"
    (succeed,) = [
        u
        for u in recorded.client.updates()
        if u.type is OperationType.CONTEXT and u.action is OperationAction.SUCCEED
    ]
    assert succeed.context_options is None or not succeed.context_options.replay_children
    assert BlobReference.from_payload(succeed.payload) is not None


# ---------------------------------------------------------- invoke and callbacks


def test_an_invoke_payload_or_result_over_256_kib_fails_clearly_and_once(runner: DurableTestRunner) -> None:
    callee_runs: list[int] = []

    @durable_execution
    def callee(event: Any, context: DurableContext) -> str:
        callee_runs.append(1)
        return "r" * int(event)

    @durable_execution
    def caller(event: Any, context: DurableContext) -> int:
        payload = "1" + "0" * 300_000 if event == "big-payload" else "300000"
        return len(context.invoke("callee", payload, name="call"))

    runner.register(callee, "callee")
    big_payload = runner.run(caller, "big-payload")
    assert big_payload.status == "FAILED" and big_payload.invocations == 1
    message = (big_payload.error.error_message if big_payload.error else "") or ""
    assert "'call'" in message and "300,003 bytes" in message and "262,144" in message
    assert "OffloadSerDes" in message
    assert callee_runs == [], "the callee was invoked with a payload over the limit"

    big_result = runner.run(caller, "big-result")
    assert big_result.status == "FAILED"
    assert callee_runs == [1], "the callee was re-run after its result was refused"
    message = (big_result.error.error_message if big_result.error else "") or ""
    assert "300,002 bytes" in message and "262,144" in message


def test_invoke_carries_large_values_both_ways_through_the_offload_serdes(
    runner: DurableTestRunner, tmp_path: Path
) -> None:
    offload: OffloadSerDes[Any] = OffloadSerDes(store=LocalDirectoryBlobStore(tmp_path))
    received: list[Any] = []

    @durable_execution
    def callee(event: Any, context: DurableContext) -> Any:
        value = offload.load(event)
        received.append(value)
        return offload.dump({"echo": value["rows"], "n": len(value["rows"])})

    @durable_execution
    def caller(event: Any, context: DurableContext) -> list[Any]:
        config: InvokeConfig[Any, Any] = InvokeConfig(serdes_payload=offload, serdes_result=offload)
        answer = context.invoke("offload-callee", BIG_VALUE, name="call", config=config)
        context.wait(Duration.from_seconds(5))
        return [answer["n"], answer["echo"] == BIG_VALUE["rows"]]

    runner.register(callee, "offload-callee")
    result = runner.run(caller)
    assert result.status == "SUCCEEDED", result.error
    assert result.result == [4000, True]
    assert received == [BIG_VALUE]
    assert BlobReference.from_payload(result.operation("call").raw_result) is not None


def test_a_callback_result_over_256_kib_is_refused_and_the_callback_stays_open(
    runner: DurableTestRunner, tmp_path: Path
) -> None:
    offload: OffloadSerDes[Any] = OffloadSerDes(store=LocalDirectoryBlobStore(tmp_path))
    issued: list[str] = []

    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        callback = context.create_callback(name="report", config=CallbackConfig(serdes=offload))
        context.step(lambda _: issued.append(callback.callback_id), name="hand-out")
        report = callback.result()
        context.wait(Duration.from_seconds(5))
        return len(report["rows"])

    arn = runner.start(handler)
    runner.engine.run_until_idle()
    (callback_id,) = issued
    service = runner.engine.service
    with pytest.raises(InvalidParameterValueError) as refused:
        service.send_durable_execution_callback_success(
            SendDurableExecutionCallbackSuccessRequest(callback_id, b"x" * 300_000)
        )
    assert "300000 bytes" in refused.value.message and "262144" in refused.value.message
    # The external system stores the value and sends the reference instead.
    reference = offload.serialize(BIG_VALUE, SerDesContext("report", ""))
    assert len(reference) < 1000
    service.send_durable_execution_callback_success(
        SendDurableExecutionCallbackSuccessRequest(callback_id, reference.encode())
    )
    runner.engine.drive(arn)
    result = runner.result(arn)
    assert result.status == "SUCCEEDED", result.error
    assert result.result == 4000


# --------------------------------------------------------------- engine refusals


def test_the_engine_refuses_an_oversize_payload_and_the_sdk_does_not_retry_it(
    runner: DurableTestRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK refuses an oversize summary itself (above); with that check out of the way,
    # the payload reaches the engine, which refuses it, and the SDK does not retry.
    monkeypatch.setattr(child_context, "check_payload_size", lambda *args, **kwargs: None)

    @durable_execution
    def handler(event: Any, context: DurableContext) -> int:
        # A summary is the user's to size: here it breaks the 256 KiB limit itself.
        config: ChildConfig[Any] = ChildConfig(summary_generator=lambda value: "s" * 270_000)
        return len(
            context.run_in_child_context(lambda child: "z" * 300_000, name="summarized", config=config)
        )

    recorded = Recorded(runner, handler)
    result = recorded.run()
    assert result.status == "FAILED"
    assert result.invocations == 1, "a refused payload was retried as if the failure were transient"
    (error,) = recorded.client.errors
    assert isinstance(error, InvalidParameterValueError)
    assert error.code == "InvalidParameterValueException"
    assert "270000 bytes" in error.message and "262144" in error.message
    message = (result.error.error_message if result.error else "") or ""
    assert "262144" in message and "Type=CONTEXT" in message
    # The request was refused whole: nothing of it was stored.
    assert _events(result, EventType.CONTEXT_STARTED, EventType.CONTEXT_SUCCEEDED) == []


def test_the_engine_refuses_an_oversize_checkpoint_sent_directly(runner: DurableTestRunner) -> None:
    refused: list[Exception] = []

    def raw_handler(event: Any, lambda_context: Any) -> dict[str, Any]:
        update = OperationUpdate(
            "0" * 64,
            OperationType.STEP,
            OperationAction.SUCCEED,
            payload="p" * (MAX_OPERATION_PAYLOAD_BYTES + 1),
        )
        request = CheckpointDurableExecutionRequest(
            event.input.durable_execution_arn,
            event.input.checkpoint_token,
            (
                OperationUpdate("0" * 64, OperationType.STEP, OperationAction.START, sub_type="Step"),
                update,
            ),
        )
        try:
            event.client.checkpoint_durable_execution(request)
        except Exception as exc:
            refused.append(exc)
        return {"Status": "SUCCEEDED", "Result": "1"}

    runner.engine.register_function("raw-oversize", InProcessInvocable(raw_handler, runner.engine.service))
    result = runner.run("raw-oversize")
    (error,) = refused
    assert isinstance(error, InvalidParameterValueError)
    assert f"{MAX_OPERATION_PAYLOAD_BYTES + 1} bytes" in error.message
    assert _events(result, EventType.STEP_STARTED, EventType.STEP_SUCCEEDED) == []


# --------------------------------------------------------------- execution results

TEN_MIB = 10 * 1024 * 1024


def test_an_execution_result_over_6_mib_round_trips_through_an_execution_update(
    runner: DurableTestRunner,
) -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> dict[str, Any]:
        context.wait(Duration.from_seconds(5))
        return {"blob": "b" * TEN_MIB, "n": 1}

    recorded = Recorded(runner, handler)
    result = recorded.run()
    assert result.status == "SUCCEEDED", result.error
    assert result.result == {"blob": "b" * TEN_MIB, "n": 1}
    # The last invocation answered with an empty result and sent the value as an update.
    assert recorded.outputs[-1] == {"Status": "SUCCEEDED", "Result": ""}
    (update,) = [u for u in recorded.client.updates() if u.type is OperationType.EXECUTION]
    assert update.action is OperationAction.SUCCEED
    assert update.payload is not None and len(update.payload) > MAX_RESPONSE_BYTES
    assert json.loads(update.payload) == result.result
    execution = runner.engine.service.get_durable_execution(GetDurableExecutionRequest(result.execution_arn))
    assert execution.result == update.payload
    (succeeded,) = _events(result, EventType.EXECUTION_SUCCEEDED)
    assert succeeded.details.result is not None


def test_a_result_just_under_6_mib_stays_in_the_response(runner: DurableTestRunner) -> None:
    @durable_execution
    def handler(event: Any, context: DurableContext) -> str:
        return "s" * (MAX_RESPONSE_BYTES - 100)

    recorded = Recorded(runner, handler)
    result = recorded.run()
    assert result.status == "SUCCEEDED", result.error
    assert len(result.result) == MAX_RESPONSE_BYTES - 100
    assert recorded.outputs[-1]["Result"] == json.dumps("s" * (MAX_RESPONSE_BYTES - 100))
    assert not any(u.type is OperationType.EXECUTION for u in recorded.client.updates())


def test_perdure_run_json_prints_a_10_mib_result(tmp_path: Path) -> None:
    flow = tmp_path / "big_result.py"
    flow.write_text(
        textwrap.dedent(
            f"""
            from perdure import DurableContext, Duration, durable_execution

            @durable_execution
            def handler(event, context: DurableContext):
                context.wait(Duration.from_seconds(5))
                return {{"blob": "b" * {TEN_MIB}, "n": event["n"]}}
            """
        )
    )
    completed = run_cli(
        "run",
        f"{flow}:handler",
        "--input",
        '{"n": 3}',
        "--memory",
        "--skip-time",
        "--json",
        cwd=tmp_path,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    summary = last_json(completed.stdout)
    assert summary["status"] == "SUCCEEDED"
    assert summary["result"] == {"blob": "b" * TEN_MIB, "n": 3}


# ---------------------------------------------------------- parallel (the .NET SDK's case)

needs_parallel = pytest.mark.skipif(
    not hasattr(DurableContext, "parallel"), reason="DurableContext.parallel is not implemented yet"
)


@needs_parallel
def test_three_flat_branches_of_150_kb_are_rebuilt_after_a_replay(runner: DurableTestRunner) -> None:
    """The .NET SDK's end-to-end overflow case."""
    from perdure.sdk.completion import NestingType, ParallelConfig

    produced: list[str] = []

    def branch(letter: str) -> Callable[[DurableContext], str]:
        def run(child: DurableContext) -> str:
            child.wait(Duration.from_seconds(2))

            def make(_: Any) -> str:
                produced.append(letter)
                return letter * 153_600

            return child.step(make, name=f"make-{letter}")

        return run

    @durable_execution
    def handler(event: Any, context: DurableContext) -> list[Any]:
        batch = context.parallel(
            [branch("a"), branch("b"), branch("c")],
            name="fanout",
            config=ParallelConfig(nesting_type=NestingType.FLAT),
        )
        context.wait(Duration.from_seconds(5), name="after")
        values = batch.get_results()
        return [len(v) for v in values] + ["".join(v[0] for v in values)]

    recorded = Recorded(runner, handler)
    result = recorded.run()
    assert result.status == "SUCCEEDED", result.error
    assert result.result == [153_600, 153_600, 153_600, "abc"]
    assert sorted(produced) == ["a", "b", "c"], "a branch's step ran twice"
    fanout = result.operation("fanout")
    (succeed,) = [
        u for u in recorded.client.updates() if u.id == fanout.id and u.action is OperationAction.SUCCEED
    ]
    assert succeed.context_options is not None and succeed.context_options.replay_children
    assert succeed.payload is not None and len(succeed.payload.encode()) <= MAX_OPERATION_PAYLOAD_BYTES


@pytest.mark.parametrize("where", ["handler", "step"])
def test_an_error_over_the_error_bound_fails_the_execution_with_its_start(
    runner: DurableTestRunner, where: str
) -> None:
    huge = "boom " + "x" * (7 * 1024 * 1024)

    @durable_execution
    def handler(event: Any, context: DurableContext) -> str:
        context.step(lambda _: "first", name="first")
        if where == "step":

            def explode(_: Any) -> str:
                raise ValueError(huge)

            return context.step(
                explode, name="explode", config=StepConfig(retry_strategy=RetryPresets.none())
            )
        raise ValueError(huge)

    recorded = Recorded(runner, handler)
    result = recorded.run()
    assert result.status == "FAILED"
    assert recorded.client.errors == []  # nothing over the bound was ever sent
    error = result.error
    assert error is not None and error.error_message is not None
    assert error.error_message.startswith("boom xxx") and error.error_message.endswith(" [truncated]")
    assert error_size(error) <= MAX_ERROR_BYTES
