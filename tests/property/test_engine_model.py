"""A stateful model of the engine's checkpoint processing, checked against a plain dictionary.

One execution, one open invocation, and random sequences of checkpoint requests (STEP,
WAIT and CONTEXT starts, re-starts, retries, succeeds, fails and cancels; right and wrong
parents; the current, a stale or a made-up token; valid and invalid delays) interleaved
with clock advances that fire waits, retries and the ExecutionTimeout. The model says,
for each request, whether the service must accept it and what it changes.

Every other request carries a ClientToken; sending the latest accepted one again returns
its first response and changes nothing.

Invariants after every step: a rejected request changes nothing (history, operations,
token); history is append-only with contiguous event ids and the model's length; every
operation's type, status, parent and attempt match the model; after the timeout, the
revoked token gets a tokenless answer that changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from perdure.engine import Engine, MemoryStore, VirtualClock, lifecycle
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import (
    CheckpointDurableExecutionRequest,
    CheckpointDurableExecutionResponse,
    Event,
    ExecutionStatus,
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

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TIMEOUT = 3600
IDS = ("a", "b", "c", "d", "e", "f")
S = OperationStatus
A = OperationAction
T = OperationType


@dataclass(frozen=True)
class ModelOp:
    type: OperationType
    status: OperationStatus
    parent: str | None
    attempt: int = 0


@dataclass(frozen=True)
class Spec:
    """One generated update: what to send (the model decides whether it is valid)."""

    type: OperationType
    action: OperationAction
    id: str
    parent: str | None  # an id from IDS, "ROOT" (the EXECUTION operation), or None
    seconds: int


ACTIONS = {
    T.STEP: (A.START, A.SUCCEED, A.FAIL, A.RETRY),
    T.WAIT: (A.START, A.CANCEL),
    T.CONTEXT: (A.START, A.SUCCEED, A.FAIL),
}
specs = st.sampled_from(list(ACTIONS)).flatmap(
    lambda t: st.builds(
        Spec,
        type=st.just(t),
        action=st.sampled_from(ACTIONS[t]),
        id=st.sampled_from(IDS),
        parent=st.sampled_from((None, None, "ROOT", *IDS)),
        seconds=st.sampled_from((0, 1, 5, 30, 300)),
    )
)


class Rejected(Exception):
    pass


def apply_spec(
    ops: dict[str, ModelOp], timers: dict[tuple[str, str], datetime], spec: Spec, now: datetime, root: str
) -> int:
    """Apply one update to the model (in place); return its event count. Raises Rejected.

    `root` is the EXECUTION operation's id: a ParentId naming it means "top level", and is
    stored as sent."""
    current = ops.get(spec.id)

    def parent_ok() -> bool:
        if spec.parent is None or spec.parent == "ROOT":
            return True
        parent = ops.get(spec.parent)
        return parent is not None and parent.type is T.CONTEXT and parent.status is S.STARTED

    parent = root if spec.parent == "ROOT" else spec.parent
    if current is None:
        if not parent_ok() or spec.action is not A.START:
            raise Rejected
        if spec.type is T.WAIT:
            if spec.seconds < 1:
                raise Rejected
            timers[(spec.id, "wait")] = now + timedelta(seconds=spec.seconds)
        ops[spec.id] = ModelOp(spec.type, S.STARTED, parent)
        return 1
    if current.type is not spec.type:
        raise Rejected
    if spec.action is A.START and parent != current.parent:  # re-START keeps its parent
        raise Rejected
    if spec.parent is not None and not parent_ok():
        raise Rejected
    if spec.action is A.START:
        if spec.type is not T.STEP or current.status not in (S.READY, S.STARTED):
            raise Rejected
        ops[spec.id] = replace(current, status=S.STARTED)
        return 1
    if current.status is not S.STARTED:
        raise Rejected
    if spec.action is A.RETRY:
        if spec.seconds < 1:
            raise Rejected
        timers[(spec.id, "retry")] = now + timedelta(seconds=spec.seconds)
        ops[spec.id] = replace(current, status=S.PENDING, attempt=current.attempt + 1)
    elif spec.action is A.CANCEL:
        timers.pop((spec.id, "wait"), None)
        ops[spec.id] = replace(current, status=S.CANCELLED)
    else:
        status = S.SUCCEEDED if spec.action is A.SUCCEED else S.FAILED
        # An ended step's Attempt counts its last attempt too.
        attempt = current.attempt + 1 if spec.type is T.STEP else current.attempt
        ops[spec.id] = replace(current, status=status, attempt=attempt)
    return 1


def to_update(spec: Spec, execution_id: str) -> OperationUpdate:
    sub_type = {T.STEP: "Step", T.WAIT: "Wait", T.CONTEXT: "RunInChildContext"}[spec.type]
    return OperationUpdate(
        id=spec.id,
        type=spec.type,
        action=spec.action,
        parent_id=execution_id if spec.parent == "ROOT" else spec.parent,
        sub_type=sub_type,
        payload='"p"' if spec.action is A.SUCCEED else None,
        wait_options=WaitOptions(spec.seconds) if spec.type is T.WAIT and spec.action is A.START else None,
        step_options=StepOptions(spec.seconds) if spec.action is A.RETRY else None,
    )


class EngineModel(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.engine = Engine(MemoryStore(), VirtualClock(T0), recover_on_open=False, workers=1)
        self.engine.register_function("fn", lambda i, c: InvocationOutput(status=InvocationStatus.PENDING))
        self.arn = self.engine.start_execution("fn", None, execution_timeout=TIMEOUT)
        with self.engine.store.transaction() as tx:
            begun = lifecycle.begin_invocation(tx, T0, self.arn, "model")
        assert begun is not None
        self.execution_id = self.arn.rsplit("/", 1)[1]
        self.token: str = begun.input.checkpoint_token
        self.old_tokens: list[str] = []
        self.ops: dict[str, ModelOp] = {}
        self.timers: dict[tuple[str, str], datetime] = {
            (self.execution_id, "execution_timeout"): T0 + timedelta(seconds=TIMEOUT)
        }
        self.now = T0
        self.events = 1  # ExecutionStarted
        self.running = True
        self.history: list[Event] = self.engine.history(self.arn)
        self.sent = 0
        self.last: tuple[CheckpointDurableExecutionRequest, CheckpointDurableExecutionResponse] | None = None
        self.view: dict[str, Operation] = {
            op.id: op for op in begun.input.initial_execution_state.operations if op.type is not T.EXECUTION
        }
        """What the invocation knows: its initial state with every response merged in."""
        self.service_changed: set[str] = set()
        """Operations the service changed (timers) since the last accepted checkpoint."""

    def teardown(self) -> None:
        if hasattr(self, "engine"):
            self.engine.close()

    # ------------------------------------------------------------------ rules

    @rule(
        batch=st.lists(specs, min_size=0, max_size=4),
        which=st.sampled_from(("current", "current", "stale", "made-up")),
    )
    def checkpoint(self, batch: list[Spec], which: str) -> None:
        """Anything at all: mostly refused (wrong status, parent, type, delay or token)."""
        self.send(batch, which)

    @rule(data=st.data(), size=st.integers(1, 3))
    def plausible_checkpoint(self, data: st.DataObject, size: int) -> None:
        """Updates the model allows (so the state grows), with the current token."""
        ops, timers, batch = dict(self.ops), dict(self.timers), []
        for _ in range(size):
            spec = data.draw(st.sampled_from(self.candidates(ops)))
            batch.append(spec)
            try:
                apply_spec(ops, timers, spec, self.now, self.execution_id)
            except Rejected:
                break  # (only the fallback) the request is refused as a whole
        self.send(batch, "current")

    def candidates(self, ops: dict[str, ModelOp]) -> list[Spec]:
        open_contexts = [i for i, o in ops.items() if o.type is T.CONTEXT and o.status is S.STARTED]
        out: list[Spec] = []
        for op_id in IDS:
            op = ops.get(op_id)
            if op is None:
                for parent in (None, "ROOT", *open_contexts):
                    out += [Spec(t, A.START, op_id, parent, 30) for t in ACTIONS]
                continue
            original = "ROOT" if op.parent == self.execution_id else op.parent
            parent_open = op.parent in (None, self.execution_id) or op.parent in open_contexts
            same = original if parent_open else None  # a closed parent: only updates without one pass
            if op.type is T.STEP and op.status is S.STARTED:
                out += [Spec(T.STEP, a, op_id, same, 5) for a in (A.SUCCEED, A.FAIL, A.RETRY)]
            elif op.type is T.STEP and op.status is S.READY and parent_open:
                out.append(Spec(T.STEP, A.START, op_id, original, 1))
            elif op.type is T.WAIT and op.status is S.STARTED:
                out.append(Spec(T.WAIT, A.CANCEL, op_id, same, 1))
            elif op.type is T.CONTEXT and op.status is S.STARTED:
                out += [Spec(T.CONTEXT, a, op_id, same, 1) for a in (A.SUCCEED, A.FAIL)]
        return out or [Spec(T.STEP, A.SUCCEED, "a", None, 1)]  # nothing valid left: a refused one

    def send(self, batch: list[Spec], which: str) -> None:
        if which == "stale" and self.old_tokens:
            token = self.old_tokens[-1]
        elif which == "made-up":
            token = "0" * 32 + "1"
        else:
            token = self.token
        self.sent += 1
        client_token = f"ct-{self.sent}" if self.sent % 2 else None  # every other one is idempotent
        request = CheckpointDurableExecutionRequest(
            self.arn, token, tuple(to_update(s, self.execution_id) for s in batch), client_token
        )
        ops, timers, events = dict(self.ops), dict(self.timers), 0
        valid = token == self.token and self.running
        try:
            for spec in batch:
                events += apply_spec(ops, timers, spec, self.now, self.execution_id)
        except Rejected:
            valid = False
        before = self.snapshot()
        revoked = not self.running and token == self.token
        try:
            response = self.engine.service.checkpoint_durable_execution(request)
        except InvalidParameterValueError:
            assert not valid and not revoked, f"refused a valid request: {batch}"
            assert self.snapshot() == before, "a refused request changed something"
            return
        if revoked:
            assert response.checkpoint_token is None and response.new_execution_state.operations == ()
            assert self.snapshot() == before, "the revoked token's answer changed something"
            if client_token is not None:
                self.last = (request, response)  # recorded too: it is now the latest
            return
        assert valid, f"accepted an invalid request: {batch} with the {which} token"
        assert response.checkpoint_token is not None and response.checkpoint_token not in self.old_tokens
        self.last = (request, response) if client_token is not None else None
        self.old_tokens.append(self.token)
        self.token = response.checkpoint_token
        self.ops, self.timers, self.events = ops, timers, self.events + events
        # The response carries the request's operations and every one the service changed
        # since the previous token, each once; merged in, the invocation knows the stored state.
        reported = [op.id for op in response.new_execution_state.operations]
        assert len(reported) == len(set(reported)), f"reported twice: {reported}"
        assert set(reported) == {s.id for s in batch} | self.service_changed
        assert response.new_execution_state.next_marker is None
        self.view.update({op.id: op for op in response.new_execution_state.operations})
        assert self.view == self.stored_operations()
        self.service_changed.clear()

    @rule()
    def retry_with_client_token(self) -> None:
        """The latest accepted request again, as a client retrying a lost response: same answer,
        nothing changes (even after timers fired or the execution timed out meanwhile)."""
        if self.last is None:
            return
        request, response = self.last
        before = self.snapshot()
        assert self.engine.service.checkpoint_durable_execution(request) == response
        assert self.snapshot() == before

    @rule(seconds=st.sampled_from((1, 4, 29, 301, 900)))
    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)
        self.engine.advance_to(self.now)
        self.engine.scheduler.fire_due_timers()
        kinds = {"wait": 0, "retry": 1, "execution_timeout": 2}
        due = sorted((d, k) for k, d in self.timers.items() if d <= self.now)
        for _, key in sorted(due, key=lambda item: (item[0], item[1][0], kinds[item[1][1]])):
            if not self.running:
                break
            del self.timers[key]
            op_id, kind = key
            if kind == "execution_timeout":
                self.running = False
                self.events += 2  # InvocationCompleted, ExecutionTimedOut
                self.timers.clear()
            elif kind == "wait" and self.ops[op_id].status is S.STARTED:
                self.ops[op_id] = replace(self.ops[op_id], status=S.SUCCEEDED)
                self.events += 1
                self.service_changed.add(op_id)
            elif kind == "retry" and self.ops[op_id].status is S.PENDING:
                self.ops[op_id] = replace(self.ops[op_id], status=S.READY)
                self.service_changed.add(op_id)

    # ------------------------------------------------------------- invariants

    def stored_operations(self) -> dict[str, Operation]:
        with self.engine.store.transaction() as tx:
            rec = tx.get_execution(self.arn)
            assert rec is not None
            ops = tx.list_operations(rec.key, -1, 1000)
        return {op.id: op for _, op in ops if op.type is not T.EXECUTION}

    def snapshot(self) -> tuple[object, ...]:
        with self.engine.store.transaction() as tx:
            rec = tx.get_execution(self.arn)
        return (self.engine.history(self.arn), self.stored_operations(), rec)

    @invariant()
    def history_is_append_only_and_contiguous(self) -> None:
        if not hasattr(self, "engine"):
            return
        history = self.engine.history(self.arn)
        assert history[: len(self.history)] == self.history, "history was rewritten"
        assert [e.event_id for e in history] == list(range(1, len(history) + 1))
        assert len(history) == self.events
        self.history = history

    @invariant()
    def operations_match_the_model(self) -> None:
        if not hasattr(self, "engine"):
            return
        stored = self.stored_operations()
        assert set(stored) == set(self.ops)
        for op_id, model in self.ops.items():
            op = stored[op_id]
            assert (op.type, op.status, op.parent_id) == (model.type, model.status, model.parent), op_id
            if op.type is T.STEP:
                assert op.step_details is not None and (op.step_details.attempt or 0) == model.attempt
        status = self.engine.get_execution(self.arn).status
        assert status is (ExecutionStatus.RUNNING if self.running else ExecutionStatus.TIMED_OUT)


EngineModel.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestEngineModel = EngineModel.TestCase
