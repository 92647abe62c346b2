"""ClientToken idempotency of CheckpointDurableExecution: a retried request (with the token it
was first sent with, stale by now) gets the same response and changes nothing; a ClientToken
reused on another request is refused; requests without one are never replayed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from perdure.engine import Engine
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    ErrorObject,
    InvocationOutput,
    StopDurableExecutionRequest,
)

from .fakes import PENDING, Recorder, Session, event_types, start, succeed


def run_body(engine: Engine, body: Callable[[Session], None]) -> str:
    """Run one invocation whose checkpoints `body` makes (through `engine.service`)."""

    def invocation(s: Session) -> InvocationOutput:
        body(s)
        return PENDING

    engine.register_function("fn", Recorder(engine, invocation))
    arn = engine.start_execution("fn", None)
    engine.scheduler.invoke_once(arn)
    return arn


def send(
    engine: Engine, s: Session, token: str, *updates: object, client_token: str | None
) -> CheckpointDurableExecutionResponse:
    return engine.service.checkpoint_durable_execution(
        CheckpointDurableExecutionRequest(s.arn, token, tuple(updates), client_token)  # type: ignore[arg-type]
    )


def test_a_retried_request_gets_the_same_response_and_changes_nothing(engine: Engine) -> None:
    seen: dict[str, object] = {}

    def body(s: Session) -> None:
        token = s.token or ""
        first = send(engine, s, token, start("s1"), succeed("s1", '"r"'), client_token="req-1")
        history = event_types(engine, s.arn)
        retried = send(engine, s, token, start("s1"), succeed("s1", '"r"'), client_token="req-1")
        seen.update(first=first, retried=retried, before=history, after=event_types(engine, s.arn))
        # the chain goes on with the token the (first) response gave
        assert first.checkpoint_token is not None
        send(engine, s, first.checkpoint_token, start("s2"), client_token="req-2")

    arn = run_body(engine, body)
    assert seen["retried"] == seen["first"]
    assert seen["before"] == seen["after"] == ["ExecutionStarted", "StepStarted", "StepSucceeded"]
    assert event_types(engine, arn)[-2:] == ["StepStarted", "InvocationCompleted"]


def test_a_client_token_reused_on_another_request_is_refused(engine: Engine) -> None:
    errors: list[str] = []

    def body(s: Session) -> None:
        token = s.token or ""
        first = send(engine, s, token, start("s1"), client_token="req-1")
        assert first.checkpoint_token is not None
        with pytest.raises(InvalidParameterValueError) as other:
            send(engine, s, first.checkpoint_token, start("s2"), client_token="req-1")
        errors.append(other.value.message)
        second = send(engine, s, first.checkpoint_token, start("s2"), client_token="req-2")
        assert second.checkpoint_token is not None
        with pytest.raises(InvalidParameterValueError) as old:  # no longer the latest
            send(engine, s, token, start("s1"), client_token="req-1")
        errors.append(old.value.message)

    arn = run_body(engine, body)
    assert "'req-1' was already used for a different checkpoint request" in errors[0]
    assert "no longer this execution's latest" in errors[1]
    assert event_types(engine, arn) == [
        "ExecutionStarted",
        "StepStarted",
        "StepStarted",
        "InvocationCompleted",
    ]


def test_without_a_client_token_a_retry_is_a_stale_token(engine: Engine) -> None:
    def body(s: Session) -> None:
        token = s.token or ""
        send(engine, s, token, start("s1"), client_token=None)
        with pytest.raises(InvalidParameterValueError, match="Invalid checkpoint token"):
            send(engine, s, token, start("s1"), client_token=None)

    run_body(engine, body)


@pytest.mark.parametrize("client_token", ["", "x" * 65, "has space", "caf\u00e9"])
def test_a_malformed_client_token_is_refused(engine: Engine, client_token: str) -> None:
    def body(s: Session) -> None:
        with pytest.raises(InvalidParameterValueError, match="ClientToken must be"):
            send(engine, s, s.token or "", start("s1"), client_token=client_token)

    arn = run_body(engine, body)
    assert event_types(engine, arn) == ["ExecutionStarted", "InvocationCompleted"]


def test_a_refused_request_records_nothing(engine: Engine) -> None:
    def body(s: Session) -> None:
        token = s.token or ""
        with pytest.raises(InvalidParameterValueError):
            send(engine, s, token, succeed("nope"), client_token="req-1")
        assert send(engine, s, token, start("s1"), client_token="req-1").checkpoint_token is not None

    arn = run_body(engine, body)
    assert event_types(engine, arn)[1] == "StepStarted"


def test_the_revoked_answer_is_replayed_too(engine: Engine) -> None:
    answers: list[CheckpointDurableExecutionResponse] = []

    def body(s: Session) -> None:
        token = s.token or ""
        engine.service.stop_durable_execution(StopDurableExecutionRequest(s.arn, ErrorObject("halt")))
        answers.append(send(engine, s, token, start("s1"), client_token="late"))
        answers.append(send(engine, s, token, start("s1"), client_token="late"))

    run_body(engine, body)
    assert answers[0] == answers[1] and answers[0].checkpoint_token is None
