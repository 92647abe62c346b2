"""perdure.sdk.operations.wait_for_condition through a handler and the fake service."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from perdure import (
    DurableInstrumentationPlugin,
    InvocationStartInfo,
    UserFunctionEndInfo,
    UserFunctionStartInfo,
)
from perdure.sdk.config import Duration, JitterStrategy
from perdure.sdk.context import DurableContext
from perdure.sdk.errors import (
    BotoClientError,
    DurableApiErrorCategory,
    InvocationError,
    SerDesError,
    ValidationError,
    WaitForConditionError,
)
from perdure.sdk.execution import durable_execution
from perdure.sdk.ids import operation_id
from perdure.sdk.serdes import JsonSerDes, SerDes, SerDesContext
from perdure.sdk.types import WaitForConditionCheckContext
from perdure.sdk.waits import (
    WaitForConditionConfig,
    WaitForConditionDecision,
    WaitStrategyConfig,
    create_wait_strategy,
)
from perdure.wire.limits import MAX_DELAY_SECONDS
from perdure.wire.types import (
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
)

from .fakes import NOW, FakeService, run_to_end

FIRST = operation_id(None, 1)
SECOND = operation_id(None, 2)


def until(threshold: int, delay: int = 1) -> Any:
    """A strategy that polls every `delay` seconds until the state reaches `threshold`."""

    def strategy(state: int, attempts_made: int) -> WaitForConditionDecision:
        if state >= threshold:
            return WaitForConditionDecision.stop_polling()
        return WaitForConditionDecision.continue_waiting(Duration(delay))

    return strategy


def counting(calls: list[tuple[Any, int]]) -> Any:
    """A check that records (state, attempt) and adds one."""

    def check(state: int, check_context: WaitForConditionCheckContext) -> int:
        calls.append((state, check_context.attempt))
        return state + 1

    return check


def stored(op_id: str, status: OperationStatus, **details: Any) -> Operation:
    """A recorded wait_for_condition operation."""
    return Operation(
        id=op_id,
        type=OperationType.STEP,
        status=status,
        sub_type="WaitForCondition",
        start_timestamp=NOW,
        step_details=StepDetails(**details),
    )


def updates_of(service: FakeService, action: OperationAction) -> list[OperationUpdate]:
    return [u for u in service.updates() if u.action is action]


# ----------------------------------------------------------------- polling


def test_polls_until_the_strategy_stops_threading_state_and_attempts() -> None:
    calls: list[tuple[Any, int]] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.wait_for_condition(counting(calls), WaitForConditionConfig(until(3), initial_state=0))

    service = FakeService()
    output, invocations = run_to_end(handler, service)

    assert output == {"Status": "SUCCEEDED", "Result": "3"}
    assert invocations == 3
    assert calls == [(0, 1), (1, 2), (2, 3)]
    assert [(u.type, u.action.value) for u in service.updates()] == [
        (OperationType.STEP, "START"),
        (OperationType.STEP, "RETRY"),
        (OperationType.STEP, "START"),
        (OperationType.STEP, "RETRY"),
        (OperationType.STEP, "START"),
        (OperationType.STEP, "SUCCEED"),
    ]
    steps = [u for u in service.updates() if u.type is OperationType.STEP]
    assert {u.id for u in steps} == {FIRST}
    assert {u.sub_type for u in steps} == {"WaitForCondition"}
    retries = updates_of(service, OperationAction.RETRY)
    assert [r.payload for r in retries] == ["1", "2"]
    assert all(r.error is None for r in retries)
    assert [r.step_options.next_attempt_delay_seconds for r in retries] == [1, 1]  # type: ignore[union-attr]
    assert updates_of(service, OperationAction.SUCCEED)[0].payload == "3"


def test_start_is_async_and_rides_with_the_retry() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.wait_for_condition(
            counting([]), WaitForConditionConfig(until(5, delay=3), initial_state=0)
        )

    service = FakeService()
    output = handler(service.invocation(), None)

    assert output == {"Status": "PENDING"}
    assert len(service.requests) == 1
    assert [u.action.value for u in service.requests[0].updates] == ["START", "RETRY"]
    op = service.ops[FIRST]
    details = op.step_details
    assert op.status is OperationStatus.PENDING and details is not None
    assert (details.attempt, details.result, details.error) == (1, "1", None)
    assert details.next_attempt_timestamp == NOW + timedelta(seconds=3)


def test_condition_met_at_once_succeeds_without_suspending() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.wait_for_condition(lambda s, _: s, WaitForConditionConfig(until(5), initial_state=5))

    service = FakeService()
    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": "5"}
    assert service.actions() == [("STEP", "START"), ("STEP", "SUCCEED")]


def test_a_zero_delay_becomes_one_second_and_a_huge_one_the_maximum() -> None:
    delays = iter([0, MAX_DELAY_SECONDS + 10])

    def strategy(state: int, attempts_made: int) -> WaitForConditionDecision:
        if attempts_made > 2:
            return WaitForConditionDecision.stop_polling()
        return WaitForConditionDecision.continue_waiting(Duration(next(delays)))

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.wait_for_condition(counting([]), WaitForConditionConfig(strategy, initial_state=0))

    service = FakeService()
    run_to_end(handler, service)
    retries = updates_of(service, OperationAction.RETRY)
    assert [r.step_options.next_attempt_delay_seconds for r in retries] == [1, MAX_DELAY_SECONDS]  # type: ignore[union-attr]


def test_check_context_carries_attempt_and_a_logger() -> None:
    seen: list[WaitForConditionCheckContext] = []

    def check(state: int, check_context: WaitForConditionCheckContext) -> int:
        seen.append(check_context)
        check_context.logger.info("polled")
        return state + 1

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.wait_for_condition(check, WaitForConditionConfig(until(2), initial_state=0), name="poll")

    run_to_end(handler, FakeService())
    assert [c.attempt for c in seen] == [1, 2]


def test_create_wait_strategy_backs_off_without_jitter() -> None:
    strategy = create_wait_strategy(
        WaitStrategyConfig[int](
            should_continue_polling=lambda s: s < 4,
            initial_delay=Duration(2),
            backoff_rate=2,
            jitter_strategy=JitterStrategy.NONE,
        )
    )

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.wait_for_condition(counting([]), WaitForConditionConfig(strategy, initial_state=0))

    service = FakeService()
    output, _ = run_to_end(handler, service)
    assert output["Result"] == "4"
    retries = updates_of(service, OperationAction.RETRY)
    assert [r.step_options.next_attempt_delay_seconds for r in retries] == [2, 4, 8]  # type: ignore[union-attr]


# ------------------------------------------------------------- serdes round trips


def test_first_poll_gets_the_initial_state_round_tripped() -> None:
    initial = {"day": date(2024, 1, 2), "pair": (1, 2)}
    seen: list[Any] = []

    def check(state: Any, check_context: WaitForConditionCheckContext) -> Any:
        seen.append(state)
        return state

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        ctx.wait_for_condition(check, WaitForConditionConfig(lambda s, n: _stop(), initial_state=initial))
        return "ok"

    handler(FakeService().invocation(), None)
    assert seen == [initial] and seen[0] is not initial


def _stop() -> WaitForConditionDecision:
    return WaitForConditionDecision.stop_polling()


def test_strategy_and_caller_see_the_round_trip_not_the_live_object() -> None:
    judged: list[Any] = []

    def strategy(state: Any, attempts_made: int) -> WaitForConditionDecision:
        judged.append(state)
        state.append("mutated by the strategy")
        return WaitForConditionDecision.stop_polling()

    results: list[Any] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        config = WaitForConditionConfig(strategy, initial_state=None, serdes=JsonSerDes())
        results.append(ctx.wait_for_condition(lambda s, _: (1, 2), config))
        return "ok"

    service = FakeService()
    handler(service.invocation(), None)
    handler(service.invocation(), None)  # replay
    assert judged == [[1, 2, "mutated by the strategy"]]
    assert results == [[1, 2], [1, 2]]


class WrappingSerDes(SerDes[str]):
    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        return json.dumps({"wrapped": value, "op": serdes_context.operation_id})

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        value: str = json.loads(data)["wrapped"]
        return value


def test_custom_serdes_encodes_every_checkpointed_state() -> None:
    def strategy(state: str, attempts_made: int) -> WaitForConditionDecision:
        if len(state) < 2:
            return WaitForConditionDecision.continue_waiting(Duration(1))
        return WaitForConditionDecision.stop_polling()

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        config = WaitForConditionConfig(strategy, initial_state="", serdes=WrappingSerDes())
        return ctx.wait_for_condition(lambda s, _: s + "x", config)

    service = FakeService()
    output, _ = run_to_end(handler, service)
    assert output["Result"] == '"xx"'
    payloads = [u.payload for u in service.updates() if u.type is OperationType.STEP and u.payload]
    assert [json.loads(p or "") for p in payloads] == [
        {"wrapped": "x", "op": FIRST},
        {"wrapped": "xx", "op": FIRST},
    ]


def test_none_state_round_trips() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.wait_for_condition(
            lambda s, _: None, WaitForConditionConfig[Any](lambda s, n: _stop(), initial_state=1)
        )

    service = FakeService()
    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": "null"}
    assert updates_of(service, OperationAction.SUCCEED)[0].payload == "null"


# ------------------------------------------------------------------- replay


def test_replay_returns_the_recorded_state_without_calling_the_check() -> None:
    calls: list[tuple[Any, int]] = []
    results: list[int] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        results.append(
            ctx.wait_for_condition(counting(calls), WaitForConditionConfig(until(1), initial_state=0))
        )
        ctx.wait(Duration(1))
        return results[-1]

    service = FakeService()
    output, invocations = run_to_end(handler, service)
    assert output["Result"] == "1" and invocations == 2
    assert calls == [(0, 1)]
    assert results == [1, 1]


def test_pending_suspends_without_calling_the_check() -> None:
    service = FakeService()
    service.ops[FIRST] = stored(
        FIRST, OperationStatus.PENDING, attempt=1, result="1", next_attempt_timestamp=NOW + timedelta(days=1)
    )
    service.order.append(FIRST)

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.wait_for_condition(counting([]), WaitForConditionConfig(until(5), initial_state=0))

    assert handler(service.invocation(), None) == {"Status": "PENDING"}
    assert service.requests == []


def test_an_interrupted_poll_runs_again_without_a_new_start() -> None:
    calls: list[tuple[Any, int]] = []
    service = FakeService()
    service.ops[FIRST] = stored(FIRST, OperationStatus.STARTED, attempt=2, result="7")
    service.order.append(FIRST)

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.wait_for_condition(counting(calls), WaitForConditionConfig(until(8), initial_state=0))

    assert handler(service.invocation(), None) == {"Status": "SUCCEEDED", "Result": "8"}
    assert calls == [(7, 3)]
    assert service.actions() == [("STEP", "SUCCEED")]


def test_a_ready_record_without_state_starts_from_the_initial_state() -> None:
    calls: list[tuple[Any, int]] = []
    service = FakeService()
    service.ops[FIRST] = stored(FIRST, OperationStatus.READY, attempt=1)
    service.order.append(FIRST)

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.wait_for_condition(counting(calls), WaitForConditionConfig(until(1), initial_state=0))

    assert handler(service.invocation(), None)["Status"] == "SUCCEEDED"
    assert calls == [(0, 2)]
    assert service.actions()[0] == ("STEP", "START")


def test_a_record_of_another_operation_is_non_deterministic() -> None:
    service = FakeService()
    service.ops[FIRST] = replace(stored(FIRST, OperationStatus.SUCCEEDED, result="1"), sub_type="Step")
    service.order.append(FIRST)

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.wait_for_condition(counting([]), WaitForConditionConfig(until(1), initial_state=0))

    output = handler(service.invocation(), None)
    assert output["Status"] == "FAILED"
    assert output["Error"]["ErrorType"].endswith(".NonDeterministicExecutionError")


def test_two_operations_get_distinct_ids_and_the_first_seeds_the_second() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> int:
        first = ctx.wait_for_condition(counting([]), WaitForConditionConfig(until(2), initial_state=0))
        return ctx.wait_for_condition(counting([]), WaitForConditionConfig(until(4), initial_state=first))

    service = FakeService()
    output, invocations = run_to_end(handler, service)
    assert output["Result"] == "4" and invocations == 3
    assert [u.id for u in updates_of(service, OperationAction.SUCCEED)] == [FIRST, SECOND]
    assert updates_of(service, OperationAction.RETRY)[1].payload == "3"


# -------------------------------------------------------------------- failures


def _raise_value_error(state: Any, check_context: WaitForConditionCheckContext) -> Any:
    raise ValueError("endpoint down")


def _describe(error: BaseException) -> tuple[Any, ...]:
    cause = error.__cause__
    return (
        type(error),
        str(error),
        getattr(error, "error_type", None),
        type(cause),
        str(cause),
        getattr(cause, "error_type", None),
    )


def test_a_failing_check_records_fail_and_raises_the_same_error_on_replay() -> None:
    raised: list[BaseException] = []
    calls: list[int] = []

    def check(state: Any, check_context: WaitForConditionCheckContext) -> Any:
        calls.append(1)
        return _raise_value_error(state, check_context)

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> str:
        try:
            ctx.wait_for_condition(check, WaitForConditionConfig(until(1), initial_state=0))
        except WaitForConditionError as exc:
            raised.append(exc)
        ctx.wait(Duration(1))
        return "recovered"

    service = FakeService()
    output, _ = run_to_end(handler, service)

    assert output == {"Status": "SUCCEEDED", "Result": '"recovered"'}
    assert calls == [1]
    fail = updates_of(service, OperationAction.FAIL)[0]
    assert fail.error.error_type == "ValueError"  # type: ignore[union-attr]
    assert fail.error.error_message == "endpoint down"  # type: ignore[union-attr]
    assert not updates_of(service, OperationAction.RETRY)
    assert len(raised) == 2
    assert _describe(raised[0]) == _describe(raised[1])
    assert _describe(raised[0])[:3] == (WaitForConditionError, "endpoint down", "ValueError")


def test_an_uncaught_check_error_fails_the_execution() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.wait_for_condition(_raise_value_error, WaitForConditionConfig(until(1), initial_state=0))

    service = FakeService()
    output = handler(service.invocation(), None)
    assert output["Status"] == "FAILED"
    assert output["Error"]["ErrorType"] == "perdure.sdk.errors.WaitForConditionError"
    assert service.actions()[:2] == [("STEP", "START"), ("STEP", "FAIL")]


def test_strategy_exhaustion_fails_with_wait_for_condition_error() -> None:
    strategy = create_wait_strategy(
        WaitStrategyConfig[int](
            should_continue_polling=lambda s: True,
            max_attempts=3,
            initial_delay=Duration(1),
            jitter_strategy=JitterStrategy.NONE,
        )
    )
    raised: list[BaseException] = []

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        try:
            return ctx.wait_for_condition(counting([]), WaitForConditionConfig(strategy, initial_state=0))
        except WaitForConditionError as exc:
            raised.append(exc)
            raise

    service = FakeService()
    output, invocations = run_to_end(handler, service)
    assert output["Status"] == "FAILED" and invocations == 3
    assert service.actions()[-2:] == [("STEP", "START"), ("STEP", "FAIL")]
    fail = updates_of(service, OperationAction.FAIL)[0]
    assert fail.error.error_type == "perdure.sdk.errors.WaitForConditionError"  # type: ignore[union-attr]
    assert "exhausted 3 attempts" in (fail.error.error_message or "")  # type: ignore[union-attr]
    assert type(raised[0]) is WaitForConditionError


def test_a_state_the_serdes_cannot_encode_fails_as_serdes_error() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        with pytest.raises(SerDesError):
            ctx.wait_for_condition(
                lambda s, _: object(), WaitForConditionConfig[Any](until(1), initial_state=0)
            )
        return "caught"

    service = FakeService()
    assert handler(service.invocation(), None)["Result"] == '"caught"'
    assert service.actions()[:2] == [("STEP", "START"), ("STEP", "FAIL")]


def test_a_state_over_the_payload_limit_fails_before_it_is_sent() -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        with pytest.raises(SerDesError, match="checkpoint payload limit"):
            ctx.wait_for_condition(
                lambda s, _: "x" * 300_000, WaitForConditionConfig[Any](until(1), initial_state=0)
            )
        return "caught"

    service = FakeService()
    assert handler(service.invocation(), None)["Result"] == '"caught"'
    assert service.actions() == [("STEP", "START"), ("STEP", "FAIL")]


def test_a_retryable_invocation_error_is_re_raised_without_a_checkpoint() -> None:
    def check(state: Any, check_context: WaitForConditionCheckContext) -> Any:
        raise InvocationError("try the invocation again")

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.wait_for_condition(check, WaitForConditionConfig(until(1), initial_state=0))

    service = FakeService()
    with pytest.raises(InvocationError, match="try the invocation again"):
        handler(service.invocation(), None)
    assert ("STEP", "FAIL") not in service.actions()


def test_a_non_retryable_invocation_error_fails_the_operation() -> None:
    def check(state: Any, check_context: WaitForConditionCheckContext) -> Any:
        raise BotoClientError("bad request", DurableApiErrorCategory.EXECUTION)

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        return ctx.wait_for_condition(check, WaitForConditionConfig(until(1), initial_state=0))

    service = FakeService()
    output = handler(service.invocation(), None)
    assert output["Status"] == "FAILED"
    assert ("STEP", "FAIL") in service.actions()


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("check", "config", "name", "message"),
    [
        (lambda s, _: s, None, None, "`config` is required"),
        (None, WaitForConditionConfig(until(1), initial_state=0), None, "`check` is required"),
        (lambda s, _: s, WaitForConditionConfig(until(1), initial_state=0), "n" * 257, "at most 256"),
    ],
)
def test_misuse_raises_validation_error_before_any_checkpoint(
    check: Any, config: Any, name: str | None, message: str
) -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> Any:
        with pytest.raises(ValidationError, match=message):
            ctx.wait_for_condition(check, config, name)
        return "ok"

    service = FakeService()
    assert handler(service.invocation(), None)["Status"] == "SUCCEEDED"
    assert service.requests == []


# --------------------------------------------------------------------- plugins


class _Recorder(DurableInstrumentationPlugin):
    def __init__(self, events: list[tuple[str, Any]]) -> None:
        self.events = events

    def on_user_function_start(self, info: UserFunctionStartInfo) -> None:
        self.events.append(("start", info))

    def on_user_function_end(self, info: UserFunctionEndInfo) -> None:
        self.events.append(("end", info))


class _Factory:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def create_plugin(self, info: InvocationStartInfo, /) -> DurableInstrumentationPlugin:
        return _Recorder(self.events)


def test_each_poll_is_a_user_function_with_its_attempt() -> None:
    factory = _Factory()

    @durable_execution(plugins=[factory])
    def handler(event: Any, ctx: DurableContext) -> int:
        return ctx.wait_for_condition(counting([]), WaitForConditionConfig(until(2), initial_state=0))

    run_to_end(handler, FakeService())
    starts = [info for kind, info in factory.events if kind == "start"]
    assert [(i.sub_type, i.attempt) for i in starts] == [("WaitForCondition", 1), ("WaitForCondition", 2)]
