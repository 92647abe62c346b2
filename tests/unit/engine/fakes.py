"""Fake durable functions for the engine tests: plain invocables that speak wire types.

`Session` wraps one invocation's checkpoint token; `Workflow` is a tiny interpreter of a
list of steps/waits/children that replays from the operations the engine hands it, the
way an SDK would, so engine behaviour can be tested without the SDK.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from perdure.engine import Engine, LambdaContext
from perdure.engine.store.schema import APPLICATION_ID, MIGRATIONS
from perdure.engine.store.sqlite import _statements
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    ContextOptions,
    ErrorObject,
    GetDurableExecutionStateRequest,
    InvocationInput,
    InvocationOutput,
    InvocationStatus,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepOptions,
    WaitOptions,
)


def start(op_id: str, type_: OperationType = OperationType.STEP, **kw: object) -> OperationUpdate:
    sub = {"STEP": "Step", "WAIT": "Wait", "CONTEXT": "RunInChildContext"}.get(type_.value)
    kw.setdefault("sub_type", sub)
    return OperationUpdate(id=op_id, type=type_, action=OperationAction.START, **kw)  # type: ignore[arg-type]


def succeed(
    op_id: str, payload: str | None = None, type_: OperationType = OperationType.STEP, **kw: object
) -> OperationUpdate:
    sub = {"STEP": "Step", "WAIT": "Wait", "CONTEXT": "RunInChildContext"}.get(type_.value)
    kw.setdefault("sub_type", sub)
    return OperationUpdate(id=op_id, type=type_, action=OperationAction.SUCCEED, payload=payload, **kw)  # type: ignore[arg-type]


def fail(
    op_id: str, error: ErrorObject, type_: OperationType = OperationType.STEP, **kw: object
) -> OperationUpdate:
    return OperationUpdate(id=op_id, type=type_, action=OperationAction.FAIL, error=error, **kw)  # type: ignore[arg-type]


def retry(
    op_id: str, delay: int, error: ErrorObject | None = None, payload: str | None = None
) -> OperationUpdate:
    return OperationUpdate(
        id=op_id,
        type=OperationType.STEP,
        action=OperationAction.RETRY,
        sub_type="Step",
        error=error,
        payload=payload,
        step_options=StepOptions(next_attempt_delay_seconds=delay),
    )


def wait_start(op_id: str, seconds: int, **kw: object) -> OperationUpdate:
    return OperationUpdate(
        id=op_id,
        type=OperationType.WAIT,
        action=OperationAction.START,
        sub_type="Wait",
        wait_options=WaitOptions(wait_seconds=seconds),
        **kw,  # type: ignore[arg-type]
    )


class Session:
    """One invocation's view: the ARN, the current token, the operations seen."""

    def __init__(self, engine: Engine, input: InvocationInput) -> None:
        self.engine = engine
        self.arn = input.durable_execution_arn
        self.token: str | None = input.checkpoint_token
        self.input = input
        self.ops: dict[str, Operation] = {op.id: op for op in input.initial_execution_state.operations}
        marker = input.initial_execution_state.next_marker
        while marker is not None:
            page = engine.service.get_durable_execution_state(
                GetDurableExecutionStateRequest(self.arn, input.checkpoint_token, marker=marker)
            )
            self.ops.update({op.id: op for op in page.operations})
            marker = page.next_marker

    def cp(self, *updates: OperationUpdate) -> CheckpointDurableExecutionResponse:
        assert self.token is not None, "checkpointing after the execution's outcome"
        response = self.engine.service.checkpoint_durable_execution(
            CheckpointDurableExecutionRequest(self.arn, self.token, tuple(updates))
        )
        self.token = response.checkpoint_token
        self.ops.update({op.id: op for op in response.new_execution_state.operations})
        return response


Body = Callable[[Session], InvocationOutput]


@dataclass
class Recorder:
    """An invocable running `body` and keeping every input/context it got."""

    engine: Engine
    body: Body
    inputs: list[InvocationInput] = field(default_factory=list)
    contexts: list[LambdaContext] = field(default_factory=list)

    def __call__(self, input: InvocationInput, context: LambdaContext) -> InvocationOutput:
        self.inputs.append(input)
        self.contexts.append(context)
        return self.body(Session(self.engine, input))


PENDING = InvocationOutput(status=InvocationStatus.PENDING)


def succeeded(result: str | None = None) -> InvocationOutput:
    return InvocationOutput(status=InvocationStatus.SUCCEEDED, result=result)


# ----------------------------------------------------------------- the interpreter


@dataclass(frozen=True)
class Step:
    id: str
    result: str = '"ok"'
    fail_times: int = 0
    delay: int = 1
    name: str | None = None


@dataclass(frozen=True)
class Wait:
    id: str
    seconds: int


@dataclass(frozen=True)
class Child:
    id: str
    ops: Sequence[Step | Wait | Child]
    result: str = '"child"'


class _Suspend(Exception):
    pass


def _run(s: Session, ops: Sequence[Step | Wait | Child], parent: str | None) -> None:
    for op in ops:
        seen = s.ops.get(op.id)
        if isinstance(op, Step):
            if seen is not None and seen.status is OperationStatus.SUCCEEDED:
                continue
            if seen is not None and seen.status is OperationStatus.PENDING:
                raise _Suspend
            attempt = (seen.step_details.attempt or 0) + 1 if seen and seen.step_details else 1
            begin = start(op.id, parent_id=parent, name=op.name)
            if attempt <= op.fail_times:
                s.cp(begin, retry(op.id, op.delay, ErrorObject("boom", "TransientError")))
                raise _Suspend
            s.cp(begin, succeed(op.id, op.result, parent_id=parent, name=op.name))
        elif isinstance(op, Wait):
            if seen is not None and seen.status is OperationStatus.SUCCEEDED:
                continue
            if seen is None:
                s.cp(wait_start(op.id, op.seconds, parent_id=parent))
            raise _Suspend
        else:
            if seen is not None and seen.status is OperationStatus.SUCCEEDED:
                continue
            if seen is None:
                s.cp(start(op.id, OperationType.CONTEXT, parent_id=parent))
            _run(s, op.ops, op.id)
            s.cp(
                succeed(
                    op.id,
                    op.result,
                    OperationType.CONTEXT,
                    parent_id=parent,
                    context_options=ContextOptions(replay_children=False),
                )
            )


def workflow(engine: Engine, ops: Sequence[Step | Wait | Child], result: str = '"done"') -> Recorder:
    """A recorder running `ops` with SDK-like replay; SUCCEEDED with `result` at the end."""

    def body(s: Session) -> InvocationOutput:
        try:
            _run(s, ops, None)
        except _Suspend:
            return PENDING
        return succeeded(result)

    return Recorder(engine, body)


def event_types(engine: Engine, arn: str) -> list[str]:
    return [e.event_type.value for e in engine.history(arn)]


def sqlite_file_at_version(path: Path, version: int) -> sqlite3.Connection:
    """A perdure database file as schema `version` left it (the first `version` migrations,
    then its version and application id), open, for a test to fill and reopen with perdure."""
    conn = sqlite3.connect(path)
    for migration in MIGRATIONS[:version]:
        for statement in _statements(migration):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    return conn
