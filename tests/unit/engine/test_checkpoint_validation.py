"""Checkpoint validation: every rejected request names the update and the rule, and changes nothing."""

from __future__ import annotations

import threading

import pytest

from perdure.engine import Engine
from perdure.wire import limits
from perdure.wire.errors import INVALID_CHECKPOINT_TOKEN, InvalidParameterValueError
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    ErrorObject,
    OperationAction,
    OperationType,
    OperationUpdate,
    StepOptions,
)

from .fakes import PENDING, Session, fail, retry, start, succeed, wait_start


class Held:
    """Runs one invocation on a thread and keeps it open so the test can checkpoint into it."""

    def __init__(self, engine: Engine, max_operations: int | None = None) -> None:
        self.engine = engine
        self.ready = threading.Event()
        self.release = threading.Event()
        self.session: Session | None = None

        def body(input, context):  # type: ignore[no-untyped-def]
            self.session = Session(engine, input)
            self.ready.set()
            self.release.wait(10)
            return PENDING

        engine.register_function("held", body)
        self.arn = engine.start_execution("held", None)
        self.thread = threading.Thread(target=engine.scheduler.invoke_once, args=(self.arn,))
        self.thread.start()
        assert self.ready.wait(10)

    def finish(self) -> None:
        self.release.set()
        self.thread.join(10)


@pytest.fixture
def held(engine: Engine):  # type: ignore[no-untyped-def]
    h = Held(engine)
    yield h
    h.finish()


def snapshot(engine: Engine, arn: str) -> tuple[object, ...]:
    history = engine.history(arn)
    with engine.store.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None
        ops = tx.list_operations(rec.key, -1, 10_000)
    return (history, ops, rec.operation_count, rec.next_event_id, rec.checkpoint_token)


def rejected(held: Held, *updates: OperationUpdate) -> str:
    session = held.session
    assert session is not None
    before = snapshot(held.engine, held.arn)
    with pytest.raises(InvalidParameterValueError) as info:
        session.cp(*updates)
    assert snapshot(held.engine, held.arn) == before, "a rejected request changed stored state"
    return info.value.message


def test_valid_then_invalid_update_in_one_request_changes_nothing(held: Held) -> None:
    message = rejected(held, start("a"), succeed("a", '"x"'), succeed("a", '"again"'))
    assert "update #2" in message and "Id='a'" in message and "SUCCEED" in message
    assert "SUCCEEDED" in message


@pytest.mark.parametrize(
    ("updates", "rule"),
    [
        ([start("bad id!")], "Id must be"),
        ([start("x" * 65)], "Id must be"),
        ([start("a", name="n" * 257)], "Name must be"),
        ([start("a", name="caf\u00e9")], "printable ASCII"),
        ([start("a", sub_type="s" * 33)], "SubType must be"),
        ([start("a", sub_type="has space")], "SubType must be"),
        ([succeed("nope", '"x"')], "no STEP operation"),
        ([start("a"), start("a", type_=OperationType.WAIT)], "already belongs to a STEP"),
        ([start("a", name="one"), succeed("a", "1", name="one"), start("a", name="one")], "SUCCEEDED"),
        ([start("a", name="one"), start("a", name="two")], "re-START changes Name"),
        ([start("a", parent_id="ghost")], "names no operation"),
        ([start("s"), start("a", parent_id="s")], "not a CONTEXT"),
        (
            [
                start("c", OperationType.CONTEXT),
                succeed("c", "1", OperationType.CONTEXT),
                start("a", parent_id="c"),
            ],
            "not open",
        ),
        ([start("a"), succeed("a", "x" * (limits.MAX_OPERATION_PAYLOAD_BYTES + 1))], "262144-byte limit"),
        ([start("a"), succeed("a", "\u00e9" * (limits.MAX_OPERATION_PAYLOAD_BYTES // 2 + 1))], "UTF-8"),
        ([wait_start("w", 0)], "outside 1..31622400"),
        ([wait_start("w", limits.MAX_DELAY_SECONDS + 1)], "outside 1..31622400"),
        ([OperationUpdate(id="w", type=OperationType.WAIT, action=OperationAction.START)], "is required"),
        ([start("a"), retry("a", 0)], "outside 1..31622400"),
        (
            [
                start("a"),
                OperationUpdate(
                    id="a", type=OperationType.STEP, action=OperationAction.RETRY, step_options=StepOptions()
                ),
            ],
            "NextAttemptDelaySeconds is required",
        ),
        (
            [start("a"), OperationUpdate(id="a", type=OperationType.STEP, action=OperationAction.CANCEL)],
            "accepts START",
        ),
        ([wait_start("w", 5), wait_start("w", 5)], "already started"),
        (
            [OperationUpdate(id="w", type=OperationType.WAIT, action=OperationAction.SUCCEED)],
            "accepts START or CANCEL",
        ),
        (
            [OperationUpdate(id="c", type=OperationType.CALLBACK, action=OperationAction.SUCCEED)],
            "accepts only START",
        ),
        (
            [OperationUpdate(id="e", type=OperationType.EXECUTION, action=OperationAction.START)],
            "SUCCEED or FAIL only",
        ),
    ],
)
def test_rule_violations_are_rejected_without_change(
    held: Held, updates: list[OperationUpdate], rule: str
) -> None:
    message = rejected(held, *updates)
    assert message.startswith("Invalid checkpoint")
    assert rule in message


def test_request_limits(held: Held) -> None:
    too_many = [start(f"s{i}") for i in range(limits.MAX_CHECKPOINT_UPDATES + 1)]
    assert "251 updates" in rejected(held, *too_many)
    big = "x" * (200 * 1024)
    updates = []
    for i in range(4):
        updates += [start(f"b{i}"), succeed(f"b{i}", big)]
    assert f"limit of {limits.MAX_CHECKPOINT_REQUEST_BYTES} bytes" in rejected(held, *updates)


def test_max_operations_is_configurable() -> None:
    engine = Engine.in_memory(max_operations=3)
    h = Held(engine)
    try:
        assert h.session is not None
        h.session.cp(start("a"), start("b"), start("c"))
        message = rejected(h, start("d"))
        assert "3 operations" in message and "Id='d'" in message
    finally:
        h.finish()
        engine.close()


def test_stale_and_unknown_tokens_are_refused(held: Held) -> None:
    session = held.session
    assert session is not None
    first = session.token
    session.cp(start("a"))
    for token in (first, "made-up"):
        request = CheckpointDurableExecutionRequest(held.arn, token or "", (succeed("a", "1"),))
        with pytest.raises(InvalidParameterValueError) as info:
            held.engine.service.checkpoint_durable_execution(request)
        assert info.value.message.startswith(INVALID_CHECKPOINT_TOKEN)


def test_token_is_revoked_when_the_invocation_ends(engine: Engine) -> None:
    seen: list[Session] = []

    def body(input, context):  # type: ignore[no-untyped-def]
        s = Session(engine, input)
        s.cp(start("a"))
        seen.append(s)
        return PENDING

    engine.register_function("fn", body)
    arn = engine.start_execution("fn", None)
    engine.run_until_idle()
    with pytest.raises(InvalidParameterValueError, match=INVALID_CHECKPOINT_TOKEN):
        seen[0].cp(succeed("a", "1"))
    with engine.store.transaction() as tx:
        rec = tx.get_execution(arn)
        assert rec is not None and rec.checkpoint_token is None


def test_fail_and_retry_need_a_started_step(held: Held) -> None:
    assert "no STEP operation" in rejected(held, fail("a", ErrorObject("m", "T")))
    assert "no STEP operation" in rejected(held, retry("a", 1, ErrorObject("m", "T")))


def test_tokens_match_the_botocore_pattern_and_rotate(held: Held) -> None:
    import re

    session = held.session
    assert session is not None
    tokens = [session.token]
    for i in range(3):
        session.cp(start(f"t{i}"))
        tokens.append(session.token)
    assert len(set(tokens)) == 4
    assert all(t is not None and re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", t) for t in tokens)
