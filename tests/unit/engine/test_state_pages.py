"""The invocation event's state, paged as Lambda pages it: the EXECUTION operation first, at
most `state_page_bytes` of operations as JSON per event or page, the rest read with the
`NextMarker` through GetDurableExecutionState."""

from __future__ import annotations

import json

import pytest

from perdure.engine import Engine, LambdaContext
from perdure.engine.lifecycle import operation_json_bytes
from perdure.wire import limits
from perdure.wire.types import (
    GetDurableExecutionStateRequest,
    InvocationInput,
    InvocationOutput,
    Operation,
    OperationType,
)

from .fakes import Step, Wait, workflow

BIG = json.dumps("x" * 20_000)


@pytest.mark.parametrize("page_bytes", [30_000, 100_000, limits.STATE_PAGE_BYTES])
def test_every_page_fits_and_together_they_hold_the_whole_state(page_bytes: int) -> None:
    pages: list[tuple[Operation, ...]] = []

    with Engine.in_memory(state_page_bytes=page_bytes) as engine:
        flow = workflow(engine, [*(Step(f"s{i}", result=BIG) for i in range(12)), Wait("w", 5), Step("last")])

        def paged(input: InvocationInput, context: LambdaContext) -> InvocationOutput:
            """Reads the state's pages as an SDK does, then runs the workflow."""
            pages.clear()
            pages.append(input.initial_execution_state.operations)
            marker = input.initial_execution_state.next_marker
            while marker is not None:
                page = engine.service.get_durable_execution_state(
                    GetDurableExecutionStateRequest(
                        input.durable_execution_arn, input.checkpoint_token, marker=marker
                    )
                )
                pages.append(page.operations)
                marker = page.next_marker
            return flow(input, context)

        engine.register_function("fn", paged)
        assert engine.drive(engine.start_execution("fn", '"input"')).status.value == "SUCCEEDED"
    # the pages of the last invocation, after the wait: 12 big steps, the wait, the execution
    assert pages[0][0].type is OperationType.EXECUTION
    for page in pages:
        assert len(page) == 1 or sum(operation_json_bytes(op) for op in page) <= page_bytes
    ids = [op.id for page in pages for op in page]
    assert len(ids) == len(set(ids)) == 14
    assert (len(pages) > 1) is (page_bytes < 12 * 20_000)


@pytest.mark.parametrize("text", ['"' * 14_000, "\\" * 14_000, "é" * 8_000])
def test_a_page_fits_when_its_payloads_grow_in_json(text: str) -> None:
    # Three results whose characters take 84 KB or less, but twice or six times that as
    # escaped JSON: the page of 100 KB must still be split by their JSON size.
    pages: list[tuple[Operation, ...]] = []
    payload = json.dumps(text, ensure_ascii=False)
    with Engine.in_memory(state_page_bytes=100_000) as engine:
        flow = workflow(
            engine, [*(Step(f"s{i}", result=payload) for i in range(3)), Wait("w", 5), Step("last")]
        )

        def paged(input: InvocationInput, context: LambdaContext) -> InvocationOutput:
            pages.clear()
            pages.append(input.initial_execution_state.operations)
            marker = input.initial_execution_state.next_marker
            while marker is not None:
                page = engine.service.get_durable_execution_state(
                    GetDurableExecutionStateRequest(
                        input.durable_execution_arn, input.checkpoint_token, marker=marker
                    )
                )
                pages.append(page.operations)
                marker = page.next_marker
            return flow(input, context)

        engine.register_function("fn", paged)
        assert engine.drive(engine.start_execution("fn", '"input"')).status.value == "SUCCEEDED"
    assert len(pages) > 1
    for page in pages:
        assert len(page) == 1 or sum(operation_json_bytes(op) for op in page) <= 100_000
    assert len({op.id for page in pages for op in page}) == 5
