"""perdure.sdk.logger: structured fields and replay silence."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from perdure.sdk.config import Duration
from perdure.sdk.context import DurableContext
from perdure.sdk.execution import durable_execution
from perdure.sdk.logger import Logger, LogInfo
from perdure.sdk.types import StepContext

from .fakes import ARN, FakeService, run_to_end


def test_fields_are_record_attributes(caplog: pytest.LogCaptureFixture) -> None:
    logger = Logger.from_log_info(logging.getLogger("t"), LogInfo(ARN, "p", "op", "name", 2))
    with caplog.at_level(logging.DEBUG):
        logger.info("hello %s", "x", extra={"k": 1})
        logger.debug("d")
        logger.warning("w")
        logger.error("e")
        try:
            raise ValueError("v")
        except ValueError:
            logger.exception("x")
    record: Any = caplog.records[0]
    assert record.getMessage() == "hello x"
    assert (
        record.executionArn,
        record.parentId,
        record.operationId,
        record.operationName,
        record.attempt,
        record.k,
    ) == (
        ARN,
        "p",
        "op",
        "name",
        2,
        1,
    )
    assert [r.levelname for r in caplog.records] == ["INFO", "DEBUG", "WARNING", "ERROR", "ERROR"]


def test_silent_while_replaying(caplog: pytest.LogCaptureFixture) -> None:
    replaying = [True]
    logger = Logger(logging.getLogger("t"), {"executionArn": ARN}, lambda: replaying[0])
    with caplog.at_level(logging.INFO):
        logger.info("a")
        replaying[0] = False
        logger.info("b")
        logger.with_is_replaying(lambda: True).info("c")
    assert [r.getMessage() for r in caplog.records] == ["b"]


def test_context_logs_once_per_execution(caplog: pytest.LogCaptureFixture) -> None:
    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        ctx.logger.info("before")

        def body(step_context: StepContext) -> int:
            step_context.logger.info("in step")
            return 1

        ctx.step(body, name="s")
        ctx.wait(Duration(1))
        ctx.logger.info("after")

    with caplog.at_level(logging.INFO):
        run_to_end(handler, FakeService())
    messages = [
        (r.getMessage(), getattr(r, "operationName", None), getattr(r, "attempt", None))
        for r in caplog.records
    ]
    assert messages == [("before", None, None), ("in step", "s", 1), ("after", None, None)]


def test_set_logger(caplog: pytest.LogCaptureFixture) -> None:
    custom = logging.getLogger("custom")

    @durable_execution
    def handler(event: Any, ctx: DurableContext) -> None:
        ctx.set_logger(custom)
        ctx.logger.info("hi")

    with caplog.at_level(logging.INFO):
        run_to_end(handler, FakeService())
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("custom", "hi")]
