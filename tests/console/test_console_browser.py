"""The console in headless Chromium: the list, an execution's timeline, a live page, and
the actions (complete a callback, stop, start), each through the Lambda REST routes.

The list and timeline screenshots in docs/img/ are written here (`make screenshots`)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from perdure.wire.types import ExecutionStatus

from . import flows
from .conftest import IMAGES, Served

pytestmark = pytest.mark.timeout(120)


def invoke(served: Served, function: str, payload: Any = None, *, wait: bool = False, name: str = "") -> str:
    response = served.client().invoke(
        FunctionName=function,
        Payload=json.dumps(payload),
        InvocationType="RequestResponse" if wait else "Event",
        **({"DurableExecutionName": name} if name else {}),
    )
    arn: str = response["ResponseMetadata"]["HTTPHeaders"]["x-amz-durable-execution-arn"]
    return arn


def row(page: Any, name: str) -> Any:
    """The timeline row of the operation named `name` (if it is rendered)."""
    return page.locator(".tl-row", has=page.locator(".nm", has_text=re.compile(f"^{re.escape(name)}$")))


def scroll_to_row(page: Any, name: str) -> Any:
    """The timeline renders only the rows in view: scroll until `name`'s row exists."""
    found = row(page, name)
    timeline = page.locator("#timeline")
    timeline.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    while not found.count():
        moved = timeline.evaluate(
            "el => { const top = el.scrollTop; el.scrollTop += el.clientHeight;"
            " el.dispatchEvent(new Event('scroll')); return el.scrollTop > top; }"  # painted now, not next frame
        )
        if not moved:
            break
    if found.count():
        return found
    raise AssertionError(f"no timeline row {name!r}")


def status_of(served: Served, arn: str) -> ExecutionStatus:
    return served.engine.get_execution(arn).status


def test_list_then_a_map_of_50_items_with_a_failing_branch_and_a_retry(served: Served, page: Any) -> None:
    arn = invoke(served, "fanout", {"batch": "b-1"}, wait=True, name="nightly-batch-1207")
    invoke(served, "approval", {"order": "o-7"}, name="order-o-7-approval")
    stopped = invoke(served, "approval", {"order": "o-6"}, name="order-o-6-approval")
    served.client().stop_durable_execution(DurableExecutionArn=stopped)
    page.goto(served.url + "/")
    rows = page.locator("#executions tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.locator(".status")).to_have_text(["STOPPED", "RUNNING", "SUCCEEDED"])  # newest first
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1440, "height": 400})
    page.screenshot(path=str(IMAGES / "console-list.png"))
    page.set_viewport_size({"width": 1440, "height": 900})

    page.select_option("select[name=status]", "SUCCEEDED")
    page.click("text=Filter")
    expect(rows).to_have_count(1)

    rows.first.locator("a").click()
    expect(page.locator(".titlebar .status")).to_have_text("SUCCEEDED")
    items = row(page, "items")
    expect(items.locator(".muted")).to_have_text("(50)")  # the map's 50 items as its rows
    prepare = row(page, "prepare")
    expect(prepare.locator(".bar.FAILED")).to_have_count(1)  # the retry: two attempts on one row
    expect(prepare.locator(".bar.SUCCEEDED")).to_have_count(1)
    prepare.click()
    detail = page.locator("#detail")
    expect(detail.locator(".payloads")).to_contain_text('"ready"')
    expect(detail).to_contain_text("FlakyError")
    page.screenshot(path=str(IMAGES / "console-timeline.png"))
    expect(scroll_to_row(page, "cool-off").locator(".bar.span")).to_have_count(1)  # a wait: a span

    failed = scroll_to_row(page, f"work-{flows.FAILING_ITEM}")
    expect(failed).to_have_attribute("data-status", "FAILED")
    failed.click()
    expect(detail.locator(".err .etype")).to_have_text("console.flows.BadItemError")
    expect(detail.locator(".err")).to_contain_text(f"item {flows.FAILING_ITEM} is out of stock")

    item = scroll_to_row(page, f"map-item-{flows.FAILING_ITEM}")
    expect(item).to_have_attribute("data-status", "FAILED")
    page.click("[data-tab=history]")
    expect(page.locator("#history table")).to_contain_text("StepFailed")
    expect(page.locator("#history table")).not_to_contain_text("ExecutionSucceeded")  # a page of 200
    page.click("#history >> text=Load more")
    expect(page.locator("#history table")).to_contain_text("ExecutionSucceeded")
    assert status_of(served, arn) is ExecutionStatus.SUCCEEDED


def test_a_running_execution_s_page_updates_without_a_reload(served: Served, page: Any) -> None:
    arn = invoke(served, "gated")
    page.goto(f"{served.url}/#/x/{arn}")
    expect(row(page, "first")).to_have_count(1)
    expect(page.locator("#live")).to_be_visible()
    page.evaluate("window.__same_page = true")
    assert row(page, "after").count() == 0
    flows.GATE.set()
    expect(row(page, "after")).to_have_count(1)
    expect(page.locator(".titlebar .status")).to_have_text("SUCCEEDED")
    expect(page.locator("#live")).to_be_hidden()
    assert page.evaluate("window.__same_page") is True


def test_completing_a_callback_from_the_page_resumes_the_execution(served: Served, page: Any) -> None:
    page.goto(served.url + "/")
    page.click("#start-open")
    page.select_option("select[name=start-function]", "approval")
    page.fill("input[name=start-name]", "approval-42")
    page.fill("textarea[name=start-input]", '{"order": "o-42"}')
    page.click("#start-go")
    expect(page.locator(".titlebar h1")).to_have_text("approval-42")
    callback = row(page, "approval")
    expect(callback).to_have_attribute("data-status", "STARTED")
    callback.click()
    page.fill("textarea[name=callback-result]", "not json")
    page.click("#callback-succeed")
    expect(page.locator("#banner")).to_contain_text("not JSON")
    page.click("#callback-heartbeat")
    expect(page.locator("#banner")).to_contain_text("Heartbeat sent.")
    page.fill("textarea[name=callback-result]", '{"approved": true}')
    page.click("#callback-succeed")
    expect(page.locator(".titlebar .status")).to_have_text("SUCCEEDED")
    arn = page.evaluate("decodeURIComponent(location.hash.slice(4))")
    result = served.engine.get_execution(arn).result
    assert result is not None and json.loads(result)["answer"] in ({"approved": True}, '{"approved": true}')
    callback.click()
    expect(page.locator("#callback")).to_have_count(0)  # complete: nothing left to complete

    # A refused action shows the service's error: the same name with another input.
    page.goto(served.url + "/")
    page.click("#start-open")
    page.select_option("select[name=start-function]", "approval")
    page.fill("input[name=start-name]", "approval-42")
    page.fill("textarea[name=start-input]", '{"order": "o-43"}')
    page.click("#start-go")
    expect(page.locator("#banner")).to_contain_text("DurableExecutionAlreadyStartedException")


def test_failing_a_callback_from_the_page_fails_the_execution_with_that_error(
    served: Served, page: Any
) -> None:
    arn = invoke(served, "approval", {"order": "o-8"})
    page.goto(f"{served.url}/#/x/{arn}")
    callback = row(page, "approval")
    expect(callback).to_have_attribute("data-status", "STARTED")
    callback.click()
    page.fill("input[name=callback-error-type]", "Rejected")
    page.fill("input[name=callback-error-message]", "no stock")
    page.click("#callback-fail")
    expect(page.locator("#banner")).to_contain_text("Callback failed.")
    expect(page.locator(".titlebar .status")).to_have_text("FAILED")
    expect(callback).to_have_attribute("data-status", "FAILED")
    error = served.engine.get_execution(arn).error
    assert error is not None and "no stock" in (error.error_message or "")


def test_stopping_an_execution_from_the_page(served: Served, page: Any) -> None:
    arn = invoke(served, "approval", {"order": "o-9"})
    page.goto(f"{served.url}/#/x/{arn}")
    expect(page.locator(".titlebar .status")).to_have_text("RUNNING")
    page.click("#stop")
    expect(page.locator("#stop-confirm")).to_be_visible()
    assert status_of(served, arn) is ExecutionStatus.RUNNING  # nothing happens before the confirmation
    page.click("#stop-confirm")
    expect(page.locator(".titlebar .status")).to_have_text("STOPPED")
    assert status_of(served, arn) is ExecutionStatus.STOPPED
    expect(page.locator("#stop")).to_have_count(0)  # nothing left to stop


def test_an_error_shows_its_type_message_and_stack_trace(served: Served, page: Any) -> None:
    arn = invoke(served, "approval", {"order": "o-10"})
    stack = ["Traceback (most recent call last):", '  File "ops.py", line 3, in halt']
    served.client().stop_durable_execution(
        DurableExecutionArn=arn,
        Error={"ErrorType": "Halted", "ErrorMessage": "by the operator", "StackTrace": stack},
    )
    page.goto(f"{served.url}/#/x/{arn}")
    error = page.locator(".summary .err")
    expect(error.locator(".etype")).to_have_text("Halted")
    expect(error).to_contain_text("by the operator")
    expect(error.locator("pre.stack")).to_have_text("\n".join(stack))


def test_a_3000_operation_execution_renders_only_the_rows_in_view(served: Served, page: Any) -> None:
    arn = invoke(served, "many", {"steps": 2_999}, wait=True)
    page.goto(f"{served.url}/#/x/{arn}")
    expect(page.locator(".summary")).to_contain_text("2999")
    expect(row(page, "step-0")).to_have_count(1)
    rendered = page.locator(".tl-row").count()
    assert 0 < rendered < 100, rendered
    last = scroll_to_row(page, "step-2998")
    last.click()
    expect(page.locator("#detail .payloads")).to_contain_text("2998")  # its result, read when opened
    assert page.locator(".tl-row").count() < 100


def test_an_item_left_running_when_its_map_completed_is_drawn_abandoned(served: Served, page: Any) -> None:
    arn = invoke(served, "first_wins", wait=True)
    assert status_of(served, arn) is ExecutionStatus.SUCCEEDED
    page.goto(f"{served.url}/#/x/{arn}")
    left = row(page, "map-item-1")
    expect(left).to_have_attribute("data-status", "ABANDONED")
    expect(left.locator(".abandoned")).to_have_text("abandoned")
    expect(left.locator(".bar.ABANDONED")).to_have_count(1)
    expect(row(page, "race-1").locator(".bar.ABANDONED")).to_have_count(1)  # its step too
    assert page.locator(".tl-row .bar.STARTED").count() == 0  # nothing striped as running
    width = left.locator(".bar").evaluate("el => el.style.width")
    page.wait_for_timeout(600)  # a later poll of a live page would have grown a running bar
    assert left.locator(".bar").evaluate("el => el.style.width") == width
    left.click()
    expect(page.locator("#detail")).to_contain_text("still STARTED when its parent ended")
    expect(page.locator("#detail")).not_to_contain_text("so far")


def test_the_time_axis_ticks_are_distinct_for_any_span(served: Served, page: Any) -> None:
    arn = invoke(served, "instant", wait=True)
    page.goto(f"{served.url}/#/x/{arn}")
    expect(page.locator(".axis span").first).to_have_text("+0 ms")
    labels = page.locator(".axis span").all_inner_texts()
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels
    spans = [0, 1, 3, 7, 999, 1001, 59_999, 3_600_001, 400 * 86_400_000]
    axes = page.evaluate(
        "spans => spans.map((span) => { const { step, count } = axisTicks(span);"
        " return Array.from({ length: count + 1 }, (_, k) => fmtDur(k * step)); })",
        spans,
    )
    assert axes[0] == ["0 ms", "1 ms", "2 ms"]
    for span, ticks in zip(spans, axes, strict=True):
        assert 3 <= len(ticks) <= 5 and len(set(ticks)) == len(ticks), (span, ticks)
