"""Human-readable output of the CLI: run summaries and tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from perdure.wire.codec import to_wire
from perdure.wire.types import Event, EventType, OperationSubType


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)
    return "\n".join(lines)


def _time(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def run_summary(summary: dict[str, Any]) -> str:
    lines = [f"status     {summary['status']}"]
    if summary.get("result") is not None:
        lines.append(f"result     {json.dumps(summary['result'])}")
    if summary.get("error"):
        error = summary["error"]
        lines.append(f"error      {error.get('ErrorType', '')}: {error.get('ErrorMessage', '')}")
    lines.append(f"invocations {summary['invocations']}")
    return "\n".join(lines)


def execution_table(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "no executions"
    body = [
        [
            str(r.get("DurableExecutionName", "")),
            str(r.get("Status", "")),
            _time(r.get("StartTimestamp")),
            _time(r.get("EndTimestamp")),
            str(r.get("DurableExecutionArn", "")),
        ]
        for r in rows
    ]
    return table(["NAME", "STATUS", "STARTED", "ENDED", "ARN"], body)


def _detail(event: Event) -> str:
    """The event's details on one line; a callback id is shown whole (`perdure callback` takes it)."""
    data = to_wire(event, timestamps="epoch_seconds").get(event.event_type.details_key) or {}
    parts: list[str] = []
    for key, value in data.items():
        if key in ("StartTimestamp", "EndTimestamp", "ScheduledEndTimestamp", "CallbackId"):
            continue
        if isinstance(value, dict) and "Payload" not in value and set(value) <= {"Truncated"}:
            if value.get("Truncated"):
                parts.append(f"{key}=(truncated)")
            continue  # no payload (a callback succeeded without a result): nothing to show
        if isinstance(value, dict) and "Payload" in value:
            payload = value["Payload"]
            if isinstance(payload, dict):
                payload = f"{payload.get('ErrorType', '')}: {payload.get('ErrorMessage', '')}"
            parts.append(f"{key}={payload}")
        elif isinstance(value, dict):
            parts.append(f"{key}=" + ",".join(f"{k}:{v}" for k, v in value.items()))
        else:
            parts.append(f"{key}={value}")
    text = _clip(" ".join(parts), 80)
    callback_id = data.get("CallbackId")
    return f"CallbackId={callback_id} {text}".rstrip() if callback_id else text


HISTORY_HEADERS = ("#", "TIME", "EVENT", "SUBTYPE", "NAME", "ID", "PARENT", "DETAILS")


def _history_row(event: Event) -> list[str]:
    return [
        str(event.event_id),
        _time(event.event_timestamp),
        event.event_type.value,
        event.sub_type or "",
        _clip(event.name or "", 24),
        _clip(event.id or "", 13),
        _clip(event.parent_id or "", 13),
        _detail(event),
    ]


def history_table(events: Sequence[Event]) -> str:
    return table(HISTORY_HEADERS, [_history_row(e) for e in events])


_LINE_WIDTHS = (
    6,
    23,
    max(len(t.value) for t in EventType),
    max(len(t.value) for t in OperationSubType),
    24,
    13,
    13,
)
"""`--follow`'s columns before DETAILS: wide enough for any event type, sub-type and
clipped name or id, so lines printed as events arrive stay aligned with the first ones."""


def _fixed(cells: Sequence[str]) -> str:
    return (
        "  ".join(c.ljust(w) for c, w in zip(cells, _LINE_WIDTHS, strict=False)) + "  " + cells[-1]
    ).rstrip()


def history_header() -> str:
    """The header of `history_line`s: the column names, then a rule."""
    return _fixed(HISTORY_HEADERS) + "\n" + _fixed(["-" * w for w in _LINE_WIDTHS] + ["-" * 7])


def history_line(event: Event) -> str:
    """One event as a line of fixed-width columns (`perdure history --follow`)."""
    return _fixed(_history_row(event))
