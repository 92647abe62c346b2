"""The driver's backend over perdure's engine (virtual clock, captured logs)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from perdure.engine import Engine
from perdure.link.logs import LogStore
from perdure.wire.codec import from_wire, to_wire
from perdure.wire.types import (
    ErrorObject,
    SendDurableExecutionCallbackFailureRequest,
    SendDurableExecutionCallbackHeartbeatRequest,
    SendDurableExecutionCallbackSuccessRequest,
)


class EngineBackend:
    """`ConformanceBackend` for one function registered on a time-skipping `Engine`."""

    def __init__(self, engine: Engine, function_name: str, logs: LogStore) -> None:
        self.engine = engine
        self.function_name = function_name
        self.log_store = logs

    def start(self, payload_json: str) -> str:
        return self.engine.start_execution(
            self.function_name, payload_json, f"conformance-{uuid.uuid4().hex[:12]}"
        )

    def run_until_idle(self, arn: str) -> None:
        self.engine.run_until_idle()

    def next_due(self, arn: str) -> float | None:
        due = self.engine.next_due_time()
        return None if due is None else due.timestamp()

    def advance_to(self, when: float) -> None:
        self.engine.advance_to(datetime.fromtimestamp(when, UTC))

    def now(self) -> float:
        return self.engine.clock.now().timestamp()

    def history(self, arn: str) -> list[dict[str, Any]]:
        return [to_wire(e, timestamps="epoch_seconds") for e in self.engine.history(arn)]

    def describe(self, arn: str) -> tuple[str, str | None]:
        execution = self.engine.get_execution(arn)
        return execution.status.value, execution.result

    def callback_success(self, callback_id: str, result: bytes | None) -> None:
        self.engine.service.send_durable_execution_callback_success(
            SendDurableExecutionCallbackSuccessRequest(callback_id=callback_id, result=result)
        )

    def callback_failure(self, callback_id: str, error: Mapping[str, Any]) -> None:
        self.engine.service.send_durable_execution_callback_failure(
            SendDurableExecutionCallbackFailureRequest(
                callback_id=callback_id, error=from_wire(ErrorObject, dict(error))
            )
        )

    def callback_heartbeat(self, callback_id: str) -> None:
        self.engine.service.send_durable_execution_callback_heartbeat(
            SendDurableExecutionCallbackHeartbeatRequest(callback_id=callback_id)
        )

    def logs(self, arn: str) -> list[dict[str, Any]]:
        return self.log_store.records(arn)
