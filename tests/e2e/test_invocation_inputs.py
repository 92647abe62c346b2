"""perdure's SDK reads invocation inputs and service responses as the official SDK 3.0 does.

The cases are in `official/invocation_inputs.py`, each with the official SDK's verdict:
what it accepts, perdure's SDK accepts (the handler runs); what it refuses, perdure's SDK
refuses with an error naming the member. The official column is checked against the
official SDK itself, run in its own virtualenv (`benchmarks/.peer-venv`, created on first
use as `make bench` does). The one case where perdure differs on purpose is marked in the
table: an operation whose `Id` is null.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from perdure import durable_execution
from perdure.sdk.aws import LambdaDurableServiceClient
from perdure.sdk.errors import ExecutionError
from perdure.wire.types import CheckpointDurableExecutionRequest, GetDurableExecutionStateRequest

ROOT = Path(__file__).resolve().parents[2]
CASES_FILE = Path(__file__).parent / "official" / "invocation_inputs.py"
PEER_PYTHON = ROOT / "benchmarks" / ".peer-venv" / "bin" / "python"

_spec = importlib.util.spec_from_file_location("invocation_inputs", CASES_FILE)
assert _spec is not None and _spec.loader is not None
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)

DIFFERENCES = {"input: operation Id null"}


def _ids(table: list[tuple[Any, ...]]) -> list[str]:
    return [row[0] for row in table]


@pytest.mark.parametrize(
    ("name", "event", "official", "error"), cases.INVOCATION_INPUTS, ids=_ids(cases.INVOCATION_INPUTS)
)
def test_an_invocation_input(name: str, event: Any, official: str, error: str | None) -> None:
    ran: list[Any] = []

    @durable_execution(boto3_client=cases.Boto3Lambda())
    def handler(user_input: Any, context: Any) -> str:
        ran.append(user_input)
        return "ok"

    if error is None:
        assert handler(event, None) == {"Status": "SUCCEEDED", "Result": '"ok"'}
        assert ran
    else:
        with pytest.raises(ExecutionError, match="malformed durable invocation input") as raised:
            handler(event, None)
        assert error in str(raised.value)
        assert not ran


def test_an_input_without_an_execution_operation_gives_the_handler_an_empty_object() -> None:
    seen: list[Any] = []

    @durable_execution(boto3_client=cases.Boto3Lambda())
    def handler(user_input: Any, context: Any) -> None:
        seen.append(user_input)

    handler(cases.event(InitialExecutionState={}), None)
    assert seen == [{}]


def test_a_null_checkpoint_token_fails_the_first_checkpoint_for_a_retry() -> None:
    @durable_execution(boto3_client=cases.Boto3Lambda())
    def handler(user_input: Any, context: Any) -> int:
        return context.step(lambda _: 1)

    with pytest.raises(Exception, match="without a checkpoint token"):
        handler(
            cases.event(CheckpointToken=None, InitialExecutionState={"Operations": [cases.EXECUTION]}), None
        )


@pytest.mark.parametrize(
    ("name", "response", "official", "error"),
    cases.CHECKPOINT_RESPONSES,
    ids=_ids(cases.CHECKPOINT_RESPONSES),
)
def test_a_checkpoint_response(name: str, response: dict[str, Any], official: str, error: str | None) -> None:
    client = LambdaDurableServiceClient(cases.Boto3Lambda(checkpoint=response))
    request = CheckpointDurableExecutionRequest(durable_execution_arn=cases.ARN, checkpoint_token="t")
    if error is None:
        client.checkpoint_durable_execution(request)
    else:
        with pytest.raises(ValueError, match="CheckpointDurableExecutionResponse") as raised:
            client.checkpoint_durable_execution(request)
        assert error in str(raised.value)


@pytest.mark.parametrize(
    ("name", "response", "official", "error"), cases.STATE_RESPONSES, ids=_ids(cases.STATE_RESPONSES)
)
def test_a_state_response(name: str, response: dict[str, Any], official: str, error: str | None) -> None:
    client = LambdaDurableServiceClient(cases.Boto3Lambda(state=response))
    request = GetDurableExecutionStateRequest(
        durable_execution_arn=cases.ARN, checkpoint_token="t", marker="m"
    )
    if error is None:
        client.get_durable_execution_state(request)
    else:
        with pytest.raises(ValueError, match="GetDurableExecutionStateResponse") as raised:
            client.get_durable_execution_state(request)
        assert error in str(raised.value)


def test_the_official_column_is_the_official_sdks_and_perdure_agrees_with_it() -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--install-peer"], check=True, timeout=600
    )
    done = subprocess.run(
        [str(PEER_PYTHON), str(CASES_FILE)], capture_output=True, text=True, timeout=120, check=True
    )
    verdicts = json.loads(done.stdout)
    tables = {
        "input": cases.INVOCATION_INPUTS,
        "checkpoint": cases.CHECKPOINT_RESPONSES,
        "state": cases.STATE_RESPONSES,
    }
    recorded = {f"{kind}: {row[0]}": row[2] for kind, table in tables.items() for row in table}
    assert verdicts == recorded
    ours = {
        f"{kind}: {row[0]}": "accepts" if row[3] is None else "refuses"
        for kind, table in tables.items()
        for row in table
    }
    assert {case for case in ours if ours[case] != recorded[case]} == DIFFERENCES
