"""ExpectedResult and ExpectedLogs checks (research 03 §1.4, §1.7)."""

from __future__ import annotations

from perdure.testing.conformance.checks import check_logs, check_result, decode_result, record_matches
from perdure.testing.conformance.placeholders import Placeholders


def test_decode_result_falls_back_to_raw():
    assert decode_result('"x"') == "x"
    assert decode_result("[1, 2]") == [1, 2]
    assert decode_result("not json") == "not json"
    assert decode_result(None) is None


def test_result_status_and_value():
    ctx = Placeholders({"INPUT_1": "abc"})
    assert (
        check_result(
            {"ExecutionStatus": "SUCCEEDED", "Result": "Hello, ${INPUT_1}!"},
            "SUCCEEDED",
            '"Hello, abc!"',
            ctx,
        )
        is None
    )
    assert check_result({"ExecutionStatus": "SUCCEEDED", "Result": 5}, "SUCCEEDED", "5", ctx) is None
    assert check_result({"ExecutionStatus": "SUCCEEDED", "Result": None}, "SUCCEEDED", None, ctx) is None
    assert check_result({"ExecutionStatus": "SUCCEEDED", "Result": None}, "SUCCEEDED", "null", ctx) is None
    assert check_result({"ExecutionStatus": "SUCCEEDED", "Result": [1]}, "SUCCEEDED", "[2]", ctx)
    assert check_result({"ExecutionStatus": "FAILED"}, "SUCCEEDED", "1", ctx)
    # status other than SUCCEEDED: the result is not checked
    assert check_result({"ExecutionStatus": "FAILED", "Result": 1}, "FAILED", None, ctx) is None
    # no Result key: any result
    assert check_result({"ExecutionStatus": "SUCCEEDED"}, "SUCCEEDED", "1", ctx) is None


def test_record_matching_rules():
    assert record_matches({"message": "/abc/"}, {"message": "x abc y"})
    assert record_matches({"message": " hello "}, {"message": "hello"})
    assert not record_matches({"message": "hello"}, {"message": "hello world"})
    assert record_matches({"first": True}, {"first": True})
    assert not record_matches({"first": True}, {"first": 1})
    assert record_matches({"n": 2}, {"n": 2.0})
    assert not record_matches({"missing": "x"}, {"message": "x"})
    assert record_matches({"plugin": "P", "hook": "h"}, {"plugin": "P", "hook": "h", "x": 1})


RECORDS = [
    {"message": "start abc"},
    {"message": "running abc"},
    {"message": "running abc"},
    {"message": "end"},
]


def test_counts():
    ctx = Placeholders({"INPUT_1": "abc"})
    assert check_logs([{"match": {"message": "/${INPUT_1}/"}, "count": 3}], RECORDS, ctx) is None
    problem = check_logs([{"match": {"message": "/${INPUT_1}/"}, "count": 1}], RECORDS, ctx)
    assert problem and "3 matching records, expected 1" in problem
    assert check_logs([{"match": {"message": "/\\[ERROR\\]/"}, "count": 0}], RECORDS, ctx) is None
    assert (
        check_logs([{"match": {"message": "/running/"}, "min_count": 2, "max_count": 2}], RECORDS, ctx)
        is None
    )
    assert check_logs([{"match": {"message": "/running/"}, "max_count": 1}], RECORDS, ctx)
    assert check_logs([{"match": {"message": "/running/"}, "min_count": 3}], RECORDS, ctx)
    assert check_logs([{"match": {"message": "/nothing/"}}], RECORDS, ctx)


def test_after_and_before():
    ctx = Placeholders()
    assert (
        check_logs([{"match": {"message": "end"}, "after": [{"message": "/running/"}]}], RECORDS, ctx) is None
    )
    assert check_logs([{"match": {"message": "/start/"}, "after": [{"message": "end"}]}], RECORDS, ctx)
    assert check_logs([{"match": {"message": "/start/"}, "before": {"message": "end"}}], RECORDS, ctx) is None
    assert check_logs([{"match": {"message": "end"}, "before": {"message": "/start/"}}], RECORDS, ctx)
    problem = check_logs([{"match": {"message": "end"}, "after": [{"message": "nope"}]}], RECORDS, ctx)
    assert problem and "matches no record" in problem


def test_equal_timestamps_are_concurrent():
    records = [{"message": "a", "timestamp": 5}, {"message": "b", "timestamp": 5}]
    assert (
        check_logs([{"match": {"message": "a"}, "after": [{"message": "b"}]}], records, Placeholders())
        is None
    )
