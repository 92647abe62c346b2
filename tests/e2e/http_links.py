"""Links for the HTTP end-to-end tests: the same handler, in process or behind `perdure serve`.

- `InProcessLink`: the embedded engine; the handler's client is the engine's service.
- `HttpLink`: the engine behind `EngineHost` on an ephemeral 127.0.0.1 port. The handler
  is invoked exactly as AWS Lambda invokes it: with the invocation input as a JSON event
  (timestamps in epoch milliseconds), so the SDK builds its own boto3 client
  (`perdure.sdk.aws`), which finds the server through `AWS_ENDPOINT_URL_LAMBDA`, as boto3
  does natively. Executions are started and read with boto3 too.

Both offer `run` (start and wait for the end), `start` / `events` / `*_callback` / `finish`
for executions that wait on the outside world, and return an `Outcome` with the history
as wire `Event`s, so tests compare them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from perdure.engine import Engine
from perdure.link.inprocess import InProcessInvocable
from perdure.link.target import Target, as_lambda_handler
from perdure.sdk.aws import LambdaDurableServiceClient
from perdure.server import EngineHost
from perdure.wire import limits
from perdure.wire.codec import from_wire, to_wire
from perdure.wire.types import (
    ErrorObject,
    Event,
    EventDetails,
    SendDurableExecutionCallbackFailureRequest,
    SendDurableExecutionCallbackSuccessRequest,
)

from .helpers import FLOWS
from .lambda_runtime import LambdaEventInvocable, lambda_client

if TYPE_CHECKING:  # no pytest at run time: `official/in_process.py` uses the links in the peer venv
    import pytest

ORDER = f"{FLOWS}/order_flow.py:handler"
HTTP_FLOWS = f"{FLOWS}/http_flows.py"


def load(target: str) -> Callable[..., Any]:
    return as_lambda_handler(Target.parse(target).load())


@dataclass
class Outcome:
    arn: str
    status: str
    result: str | None
    error: dict[str, Any] | None
    history: list[Event] = field(default_factory=list)

    @property
    def value(self) -> Any:
        return None if self.result is None else json.loads(self.result)

    def to_json(self) -> dict[str, Any]:
        """This outcome as JSON, its history as wire events (for a process to hand it over)."""
        return {
            "arn": self.arn,
            "status": self.status,
            "result": self.result,
            "error": self.error,
            "history": [to_wire(e) for e in self.history],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        history = [from_wire(Event, e) for e in data["history"]]
        return cls(data["arn"], data["status"], data["result"], data["error"], history)


_VOLATILE_DETAILS = {"scheduled_end_timestamp": None, "start_timestamp": None, "end_timestamp": None}


def normalized(history: list[Event]) -> list[dict[str, Any]]:
    """The history without what differs between two runs: times, jittered delays, request and
    execution ids, ARNs."""
    out = []
    for event in history:
        details: EventDetails = replace(
            event.details, request_id=None, durable_execution_arn=None, **_VOLATILE_DETAILS
        )
        if details.retry_details is not None:  # a jittered delay is random by design
            details = replace(
                details, retry_details=replace(details.retry_details, next_attempt_delay_seconds=None)
            )
        data = to_wire(replace(event, details=details), timestamps="epoch_seconds")
        data.pop("EventTimestamp")
        if event.event_type.value.startswith("Execution"):
            data.pop("Id", None)  # the execution's own id, fresh per run
        out.append(data)
    return out


class InProcessLink:
    name = "inprocess"

    def __init__(self) -> None:
        self.engine = Engine.in_memory(skip_time=True)

    def register(self, name: str, target: str) -> None:
        self.engine.register_function(name, InProcessInvocable(load(target), self.engine.service))

    def run(self, function: str, payload: Any, execution_name: str | None = None) -> Outcome:
        arn = self.engine.start_execution(function, json.dumps(payload), execution_name)
        return self.finish(arn)

    def outcome(self, arn: str) -> Outcome:
        execution = self.engine.get_execution(arn)
        return Outcome(
            arn=arn,
            status=execution.status.value,
            result=execution.result,
            error=None if execution.error is None else to_wire(execution.error),
            history=self.engine.history(arn),
        )

    def start(self, function: str, payload: Any) -> str:
        """Start an execution and run it until it suspends or ends."""
        arn = self.engine.start_execution(function, json.dumps(payload))
        self.engine.run_until_idle()
        return arn

    def events(self, arn: str) -> list[Event]:
        return self.engine.history(arn)

    def succeed_callback(self, callback_id: str, result: bytes) -> None:
        self.engine.service.send_durable_execution_callback_success(
            SendDurableExecutionCallbackSuccessRequest(callback_id, result)
        )

    def fail_callback(self, callback_id: str, error: dict[str, Any]) -> None:
        self.engine.service.send_durable_execution_callback_failure(
            SendDurableExecutionCallbackFailureRequest(callback_id, from_wire(ErrorObject, error))
        )

    def finish(self, arn: str) -> Outcome:
        self.engine.drive(arn)
        return self.outcome(arn)

    def close(self) -> None:
        self.engine.close()


class HttpLink:
    name = "http"

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        *,
        skip_time: bool = True,
        sync_timeout: float = 30,
        state_page_bytes: int = limits.STATE_PAGE_BYTES,
        **host_options: Any,
    ) -> None:
        self.engine = Engine.in_memory(skip_time=skip_time, state_page_bytes=state_page_bytes)
        self.host = EngineHost(self.engine, port=0, sync_timeout=sync_timeout, **host_options)
        self.invocables: dict[str, LambdaEventInvocable] = {}
        # What the Lambda runtime environment provides; the SDK's default boto3 client reads it.
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", self.host.url)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
        monkeypatch.delenv("AWS_PROFILE", raising=False)
        monkeypatch.setattr(LambdaDurableServiceClient, "_cached", None)
        self.host.start()
        self.client = lambda_client(self.host.url)

    @property
    def url(self) -> str:
        return self.host.url

    def register(self, name: str, target: str) -> LambdaEventInvocable:
        invocable = LambdaEventInvocable(load(target))
        self.invocables[name] = invocable
        self.engine.register_function(name, invocable)
        return invocable

    def run(self, function: str, payload: Any, execution_name: str | None = None) -> Outcome:
        options = {} if execution_name is None else {"DurableExecutionName": execution_name}
        response = self.client.invoke(FunctionName=function, Payload=json.dumps(payload).encode(), **options)
        response["Payload"].read()
        return self.outcome(response["DurableExecutionArn"])

    def start(self, function: str, payload: Any) -> str:
        response = self.client.invoke(
            FunctionName=function, Payload=json.dumps(payload).encode(), InvocationType="Event"
        )
        return str(response["DurableExecutionArn"])

    def events(self, arn: str) -> list[Event]:
        return self.history(arn)

    def succeed_callback(self, callback_id: str, result: bytes) -> None:
        self.client.send_durable_execution_callback_success(CallbackId=callback_id, Result=result)

    def fail_callback(self, callback_id: str, error: dict[str, Any]) -> None:
        self.client.send_durable_execution_callback_failure(CallbackId=callback_id, Error=error)

    def finish(self, arn: str, timeout: float = 20) -> Outcome:
        deadline = time.monotonic() + timeout
        while self.client.get_durable_execution(DurableExecutionArn=arn)["Status"] == "RUNNING":
            assert time.monotonic() < deadline, f"{arn} still RUNNING after {timeout}s"
            time.sleep(0.01)
        return self.outcome(arn)

    def outcome(self, arn: str) -> Outcome:
        execution = self.client.get_durable_execution(DurableExecutionArn=arn)
        return Outcome(
            arn=arn,
            status=execution["Status"],
            result=execution.get("Result"),
            error=execution.get("Error"),
            history=self.history(arn),
        )

    def history(self, arn: str, **options: Any) -> list[Event]:
        events: list[Event] = []
        marker: dict[str, str] = {}
        while True:
            page = self.client.get_durable_execution_history(
                DurableExecutionArn=arn, IncludeExecutionData=True, **options, **marker
            )
            events.extend(from_wire(Event, e, timestamps="datetime") for e in page["Events"])
            if not page.get("NextMarker"):
                return events
            marker = {"Marker": page["NextMarker"]}

    def close(self) -> None:
        self.client.close()
        cached = LambdaDurableServiceClient._cached
        if cached is not None:  # the SDK's default client, made by a handler during the test
            cached.close()
        self.host.stop()
        self.engine.close()


def callback_id(link: InProcessLink | HttpLink, arn: str, timeout: float = 20) -> str:
    """The id of the first callback execution `arn` created (waits for it to appear)."""
    deadline = time.monotonic() + timeout
    while True:
        for event in link.events(arn):
            if event.details.callback_id is not None:
                return event.details.callback_id
        assert time.monotonic() < deadline, f"{arn} created no callback"
        time.sleep(0.01)
