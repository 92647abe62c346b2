"""Chained invoke on both links: in process, and behind `perdure serve` over HTTP where the
SDK checkpoints through its boto3 client (so `ChainedInvokeOptions` and the
`ChainedInvoke*` history details cross the REST JSON wire). The conformance handlers
of suite 5 run unchanged; the histories of both links must be the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .http_links import HttpLink, InProcessLink, normalized

pytestmark = pytest.mark.timeout(60)

HANDLERS = Path(__file__).parents[1] / "conformance" / "handlers" / "invoke"
Link = InProcessLink | HttpLink


def registered(link: Link, monkeypatch: pytest.MonkeyPatch) -> Link:
    monkeypatch.setenv("TARGET_FUNCTION_NAME", "echo")
    link.register("echo", f"{HANDLERS}/target_echo.py:handler")
    link.register("explode", f"{HANDLERS}/target_error.py:handler")
    link.register("tenant", f"{HANDLERS}/invoke_with_tenant_id.py:handler")
    link.register("caught", f"{HANDLERS}/invoke_target_fails_caught.py:handler")
    return link


@pytest.fixture(params=["inprocess", "http"])
def link(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Link]:
    made: Link = InProcessLink() if request.param == "inprocess" else HttpLink(monkeypatch)
    try:
        yield registered(made, monkeypatch)
    finally:
        made.close()


def test_invoke_with_a_tenant(link: Link) -> None:
    outcome = link.run("tenant", {"tenantId": "acme", "payload": "parcel"})
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.value == "parcel"
    started = next(e for e in outcome.history if e.event_type.value == "ChainedInvokeStarted")
    details = started.details
    assert (details.function_name, details.tenant_id, details.executed_version) == ("echo", "acme", "$LATEST")
    assert details.input is not None and details.input.payload == '"parcel"'
    assert details.durable_execution_arn is not None and ":function:echo:" in details.durable_execution_arn
    succeeded = next(e for e in outcome.history if e.event_type.value == "ChainedInvokeSucceeded")
    assert succeeded.details.result is not None and succeeded.details.result.payload == '"parcel"'


def test_a_failing_target_is_caught(link: Link, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TARGET_FUNCTION_NAME", "explode")
    outcome = link.run("caught", None)
    assert outcome.status == "SUCCEEDED", outcome.error
    assert outcome.value["fallback"] == "used" and "target function error" in outcome.value["error"]
    failed = next(e for e in outcome.history if e.event_type.value == "ChainedInvokeFailed")
    assert failed.details.error is not None and failed.details.error.payload is not None
    assert failed.details.error.payload.error_type == "RuntimeError"


def test_both_links_record_the_same_history(monkeypatch: pytest.MonkeyPatch) -> None:
    histories = []
    for made in (InProcessLink(), HttpLink(monkeypatch)):
        try:
            link = registered(made, monkeypatch)
            outcome = link.run("tenant", {"tenantId": "t-9", "payload": {"n": 1}})
            assert outcome.status == "SUCCEEDED", outcome.error
            histories.append(normalized(outcome.history))
        finally:
            made.close()
    assert histories[0] == histories[1]
