"""An execution's history never goes back in time, whatever clock stamps an event: here a
`--skip-time` run (a virtual clock ahead of real time) and another process on real time
answering its callback (`perdure callback`), on one SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.test_callback import callback_flow, callback_id, cb_start, success

from perdure.engine import Engine, VirtualClock, open_store
from perdure.wire.types import EventType, ExecutionStatus


def test_an_event_stamped_by_a_slower_clock_is_not_before_the_latest_event(db_path: Path) -> None:
    ahead = VirtualClock(datetime.now(UTC) + timedelta(days=1))
    running = Engine(open_store(db_path), ahead)
    answering = Engine.open(db_path)  # real time, a day behind the run
    try:
        running.register_function("fn", callback_flow(running, cb_start(timeout=3600)))
        arn = running.start_execution("fn", None)
        running.run_until_idle()
        success(answering, callback_id(answering, arn))
        running.run_until_idle()
        assert running.get_execution(arn).status is ExecutionStatus.SUCCEEDED
        history = running.history(arn)
        stamps = [e.event_timestamp for e in history]
        assert stamps == sorted(stamps)
        (started,) = [e for e in history if e.event_type is EventType.CALLBACK_STARTED]
        (answered,) = [e for e in history if e.event_type is EventType.CALLBACK_SUCCEEDED]
        assert answered.event_timestamp >= started.event_timestamp >= ahead.now() - timedelta(hours=1)
    finally:
        answering.close()
        running.close()
