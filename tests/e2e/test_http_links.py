"""The same handler files, run on the in-process link and behind `perdure serve` over HTTP.

Over HTTP the handler gets the Lambda JSON event and checkpoints through the SDK's boto3
client (`perdure.sdk.aws`) against the server; the execution is started and read with
boto3. Each test body runs on both links, and the histories must be the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from .http_links import HTTP_FLOWS, ORDER, HttpLink, InProcessLink, callback_id, normalized

pytestmark = pytest.mark.timeout(60)

Link = InProcessLink | HttpLink


@pytest.fixture(params=["inprocess", "http"])
def link(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Link]:
    made: Link = InProcessLink() if request.param == "inprocess" else HttpLink(monkeypatch)
    try:
        yield made
    finally:
        made.close()


def both(monkeypatch: pytest.MonkeyPatch) -> tuple[InProcessLink, HttpLink]:
    return InProcessLink(), HttpLink(monkeypatch)


def test_order_example(link: Link):
    link.register("order", ORDER)
    outcome = link.run("order", {"order_id": "o-7", "items": ["book", "lamp"]}, "order-7")
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.value["tracking"] == "shipped-o-7"
    assert outcome.value["payment"] == {"charged": 20, "attempt": 2}
    types = [e.event_type.value for e in outcome.history]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert types.count("InvocationCompleted") == 3  # first run, after the retry delay, after the wait


def test_retrying_step(link: Link):
    link.register("retrying", f"{HTTP_FLOWS}:retrying")
    outcome = link.run("retrying", {"failures": 2})
    assert outcome.status == "SUCCEEDED" and outcome.value == {"attempts": 3}
    failed = [e for e in outcome.history if e.event_type.value == "StepFailed"]
    assert [e.details.retry_details.current_attempt for e in failed if e.details.retry_details] == [1, 2]

    exhausted = link.run("retrying", {"failures": 9})
    assert exhausted.status == "FAILED"
    assert exhausted.error is not None and "attempt 4 failed" in exhausted.error["ErrorMessage"]


def test_wait(link: Link):
    link.register("waiting", f"{HTTP_FLOWS}:waiting")
    outcome = link.run("waiting", {"seconds": 3600})
    assert outcome.status == "SUCCEEDED" and outcome.value == "before-after"
    started = next(e for e in outcome.history if e.event_type.value == "WaitStarted")
    succeeded = next(e for e in outcome.history if e.event_type.value == "WaitSucceeded")
    assert started.details.duration == 3600
    assert (succeeded.event_timestamp - started.event_timestamp).total_seconds() >= 3600


def test_callback_success_and_failure(link: Link):
    link.register("approval", f"{HTTP_FLOWS}:approval")
    arn = link.start("approval", {})
    link.succeed_callback(callback_id(link, arn), b'"approved"')
    outcome = link.finish(arn)
    assert outcome.status == "SUCCEEDED" and outcome.value == {"answer": '"approved"'}
    types = [e.event_type.value for e in outcome.history]
    assert (
        types.index("CallbackStarted") < types.index("CallbackSucceeded") < types.index("ExecutionSucceeded")
    )

    refused = link.start("approval", {})
    link.fail_callback(callback_id(link, refused), {"ErrorType": "Rejected", "ErrorMessage": "no budget"})
    failed = link.finish(refused)
    assert failed.status == "FAILED"
    assert failed.error is not None and "no budget" in json.dumps(failed.error)


@pytest.mark.parametrize(
    ("target", "payload"),
    [
        (ORDER, {"order_id": "o-1", "items": ["mug"]}),
        (ORDER, {"items": []}),  # fails: no order_id
        (f"{HTTP_FLOWS}:retrying", {"failures": 1}),
        (f"{HTTP_FLOWS}:retrying", {"failures": 9}),
        (f"{HTTP_FLOWS}:waiting", {"seconds": 120}),
        (f"{HTTP_FLOWS}:chatty", {"steps": 12}),
    ],
)
def test_histories_are_identical_on_both_links(monkeypatch: pytest.MonkeyPatch, target: str, payload: object):
    local, remote = both(monkeypatch)
    try:
        local.register("f", target)
        remote.register("f", target)
        here = local.run("f", payload, "same")
        there = remote.run("f", payload, "same")
    finally:
        local.close()
        remote.close()
    assert (here.status, here.result, here.error) == (there.status, there.result, there.error)
    assert normalized(here.history) == normalized(there.history)
