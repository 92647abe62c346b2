"""Log capture of the link: records, printed lines, attribution to executions."""

from __future__ import annotations

import logging
import threading

from perdure.link.logs import LogStore, capture_logging, line_to_dict, record_to_dict, running


def test_record_to_dict_keeps_structured_fields():
    record = logging.makeLogRecord(
        {"msg": "hi %s", "args": ("there",), "levelname": "INFO", "executionArn": "arn:1"}
    )
    data = record_to_dict(record)
    assert data["message"] == "hi there" and data["executionArn"] == "arn:1" and data["level"] == "INFO"


def test_printed_lines():
    assert line_to_dict("plain text\n")["message"] == "plain text"
    structured = line_to_dict('{"plugin": "P", "hook": "start"}')
    assert structured["plugin"] == "P" and "timestamp" in structured
    assert line_to_dict("{not json")["message"] == "{not json"


def test_a_printed_line_keeps_the_time_it_was_printed_at():
    assert line_to_dict("plain", 12.5)["timestamp"] == 12.5
    assert line_to_dict('{"plugin": "P"}', 12.5)["timestamp"] == 12.5
    assert line_to_dict('{"plugin": "P", "timestamp": 3}', 12.5)["timestamp"] == 3


def test_capture_attributes_by_field_then_running_invocation():
    store = LogStore()
    log = logging.getLogger("perdure-test-capture")
    with capture_logging(store):
        log.info("tagged", extra={"executionArn": "arn:a"})
        with running("arn:b"):
            log.info("inside b")
            other = threading.Thread(target=lambda: log.info("from a thread of b"))
            other.start()
            other.join()
        log.info("nobody")
    assert [r["message"] for r in store.records("arn:a")] == ["tagged"]
    assert [r["message"] for r in store.records("arn:b")] == ["inside b", "from a thread of b"]
    assert [r["message"] for r in store.records(None)] == ["nobody"]
