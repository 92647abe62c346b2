"""Checkpoint tokens: exact matches only, compared in constant time, through the service too."""

from __future__ import annotations

import hmac

import pytest

from perdure.engine import Engine, tokens
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import CheckpointDurableExecutionRequest, GetDurableExecutionStateRequest

from .fakes import start
from .test_checkpoint_validation import Held, held  # noqa: F401  (the fixture)


def test_a_token_matches_only_exactly() -> None:
    first = tokens.new_token()
    second = tokens.next_token(first)
    assert tokens.is_current(second, second)
    for other in (
        first,
        second + "0",
        second + "garbage",
        second[:-1],
        " " + second,
        second.upper(),
        "",
        5,
        None,
    ):
        assert not tokens.is_current(other, second), other
    assert not tokens.is_current(second, None)


def test_get_state_accepts_each_issued_token_of_the_invocation_and_nothing_else() -> None:
    first = tokens.new_token()
    third = tokens.next_token(tokens.next_token(first))
    secret = first[:-1]
    assert all(tokens.is_of_invocation(t, third) for t in (first, secret + "2", third))
    refused = [
        third + "garbage",
        third + "=",
        secret + "4",  # not issued yet
        secret + "02",  # another spelling of 2
        secret + "0",
        secret + "+2",
        secret + "2 ",
        secret,
        tokens.new_token(),  # another invocation's
        secret + "9" * 40,
        "é" * 40,
        3,
        None,
    ]
    for token in refused:
        assert not tokens.is_of_invocation(token, third), token
    assert not tokens.is_of_invocation(first, None)


def test_tokens_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", recording)
    token = tokens.new_token()
    assert tokens.is_current(token, token) and tokens.is_of_invocation(token, token)
    assert calls == [(token.encode(), token.encode()), (token[:32].encode(), token[:32].encode())]


def test_the_service_refuses_a_valid_token_with_anything_appended(engine: Engine, held: Held) -> None:  # noqa: F811
    session = held.session
    assert session is not None and session.token is not None
    token = session.token
    state = engine.service.get_durable_execution_state
    for bad in (token + "garbage", token + "0", token + "==", token[:-1]):
        with pytest.raises(InvalidParameterValueError, match="Invalid checkpoint token"):
            state(GetDurableExecutionStateRequest(held.arn, bad))
        with pytest.raises(InvalidParameterValueError, match="Invalid checkpoint token"):
            engine.service.checkpoint_durable_execution(
                CheckpointDurableExecutionRequest(held.arn, bad, (start("s1"),))
            )
    assert engine.history(held.arn)[-1].event_type.value == "ExecutionStarted"  # nothing applied
    session.cp(start("s1"))
    # The invocation's first token still reads its state; the new one checkpoints.
    assert state(GetDurableExecutionStateRequest(held.arn, token)).operations
    with pytest.raises(InvalidParameterValueError, match="Invalid checkpoint token"):
        state(GetDurableExecutionStateRequest(held.arn, token + "x"))
