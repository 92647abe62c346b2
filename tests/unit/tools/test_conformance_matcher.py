"""The conformance history matcher and placeholders (research 03 §1.2, §1.3)."""

from __future__ import annotations

import re

import pytest

from perdure.testing.conformance.history import match_history, match_value
from perdure.testing.conformance.placeholders import Placeholders, generate_string


def _match(expected, actual, ctx=None):
    errors: list[str] = []
    match_value(expected, actual, "$", ctx or Placeholders(), errors)
    return errors


def test_wildcards_accept_anything_but_need_the_key():
    assert _match({"A": "*", "B": {}}, {"A": 1, "B": {"x": 2}}) == []
    errors = _match({"StepStartedDetails": {}}, {"Other": 1})
    assert errors == ["$.StepStartedDetails: key missing in actual event"]


def test_extra_actual_keys_are_ignored():
    assert _match({"A": 1}, {"A": 1, "B": 2}) == []


def test_placeholder_binds_then_checks():
    ctx = Placeholders()
    assert _match("${ID1}", "abc", ctx) == []
    assert ctx.get("ID1") == "abc"
    assert _match("${ID1}", "abc", ctx) == []
    errors = _match("${ID1}", "xyz", ctx)
    assert errors and "bound to 'abc'" in errors[0]


def test_prebound_variable_is_an_equality_check():
    ctx = Placeholders({"INPUT_1": "q1"})
    assert _match("${INPUT_1}", "q1", ctx) == []
    assert _match("${INPUT_1}", "q2", ctx)


def test_different_names_may_bind_the_same_value():
    ctx = Placeholders()
    assert _match(["${A}", "${B}"], ["v", "v"], ctx) == []


def test_regex_is_searched_on_str_and_never_binds():
    ctx = Placeholders()
    assert _match("${/^[0-5]$/}", 3, ctx) == []
    assert _match("${/^[0-5]$/}", 7, ctx)
    assert _match("${/.*TransientError$/}", "my.TransientError", ctx) == []
    assert ctx.bound == {}


def test_embedded_substitution_is_textual_and_payloads_compare_as_strings():
    ctx = Placeholders({"INPUT_1": "abc"})
    assert _match('"${INPUT_1}"', '"abc"', ctx) == []
    assert _match("Hello, ${INPUT_1}!", "Hello, abc!", ctx) == []
    assert _match("5", "5", ctx) == []
    assert _match("5", 5, ctx)  # string vs int: literal mismatch
    assert _match('{"a": 1}', '{"a":1}', ctx)  # not JSON-normalised


def test_unbound_embedded_names_stay_verbatim():
    ctx = Placeholders()
    assert ctx.substitute_text("x${NOPE}y") == "x${NOPE}y"
    assert ctx.substitute({"k": ["${NOPE}"]}) == {"k": ["${NOPE}"]}


def test_numbers_compare_with_equality_and_bools():
    assert _match(2, 2) == []
    assert _match(2, 2.0) == []
    assert _match(False, False) == []
    assert _match(False, True)


def test_lists_need_equal_length():
    assert _match([1, 2], [1, 2]) == []
    assert _match([1], [1, 2]) == ["$: expected 1 items, actual 2"]


def test_type_mismatch_falls_through_to_literal():
    assert _match({"a": 1}, "text")


def test_generators_make_random_lowercase_strings():
    ctx = Placeholders()
    ctx.bind_variables({"INPUT_1": "${GEN_STR:8}", "LIT": "x"})
    assert re.fullmatch(r"[a-z0-9]{8}", ctx.get("INPUT_1"))
    assert ctx.get("LIT") == "x"
    assert len(generate_string(12)) == 12


def _event(event_id, event_type, **extra):
    return {"EventId": event_id, "EventType": event_type, "EventTimestamp": 1.0, **extra}


def test_history_matches_by_event_id_and_ignores_unlisted():
    actual = [
        _event(1, "ExecutionStarted", ExecutionStartedDetails={}),
        _event(2, "StepStarted", Id="s1", SubType="Step", StepStartedDetails={}),
        _event(
            3, "StepSucceeded", Id="s1", SubType="Step", StepSucceededDetails={"Result": {"Payload": "5"}}
        ),
        _event(4, "InvocationCompleted", InvocationCompletedDetails={}),
    ]
    expected = [
        {
            "EventType": "StepStarted",
            "EventId": 2,
            "Id": "${ID1}",
            "EventTimestamp": "*",
            "StepStartedDetails": {},
        },
        {
            "EventType": "StepSucceeded",
            "EventId": 3,
            "Id": "${ID1}",
            "StepSucceededDetails": {"Result": {"Payload": "5"}},
        },
    ]
    assert match_history(expected, actual, Placeholders()) == []


def test_history_reports_missing_event_and_shifted_ids():
    actual = [_event(1, "ExecutionStarted"), _event(2, "StepStarted", Id="a")]
    errors = match_history([{"EventId": 3, "EventType": "StepSucceeded"}], actual, Placeholders())
    assert errors == ["No actual event found for EventId=3"]
    errors = match_history([{"EventId": 2, "EventType": "WaitStarted"}], actual, Placeholders())
    assert errors and errors[0].startswith("Event[2].EventType: expected 'WaitStarted', actual 'StepStarted'")


def test_history_binding_is_consistent_across_events():
    actual = [_event(2, "StepStarted", Id="a"), _event(3, "StepSucceeded", Id="b")]
    expected = [{"EventId": 2, "Id": "${ID1}"}, {"EventId": 3, "Id": "${ID1}"}]
    errors = match_history(expected, actual, Placeholders())
    assert len(errors) == 1 and "Event[3].Id" in errors[0]


def test_history_requires_event_id():
    assert match_history([{"EventType": "X"}], [], Placeholders())[0].startswith(
        "expected event without EventId"
    )


@pytest.mark.parametrize("value", ["*", {}])
def test_wildcard_values_at_top_level(value):
    assert _match(value, None) == []
