"""ClientToken idempotency of `CheckpointDurableExecution`.

A checkpoint request may carry a `ClientToken` (1-64 printable ASCII characters, botocore's
idempotency token). The engine records, per execution, each ClientToken with a digest of
the request it came with (the checkpoint token, the ARN and the updates) and the response
of the latest one. Then:

- the same request again (a client retrying after a lost response, with the checkpoint
  token it first sent, stale by now) gets the recorded response and changes nothing;
- another request with a ClientToken already used on this execution is refused
  (`InvalidParameterValueException` naming the token), as is a retry of a checkpoint that
  is no longer the latest: its response carried a token that has since been used, so
  no client can be waiting for it.

Requests without a ClientToken (the SDKs never send one) are not recorded. A refused
request records nothing. Imports only `perdure.wire`, `perdure.engine` internals and the
standard library.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

from perdure.engine.store import ExecutionRecord, StoreTx
from perdure.wire import limits
from perdure.wire.codec import from_wire, to_wire
from perdure.wire.errors import InvalidParameterValueError
from perdure.wire.types import CheckpointDurableExecutionRequest, CheckpointDurableExecutionResponse

_CLIENT_TOKEN_RE = re.compile(rf"[\x21-\x7e]{{1,{limits.MAX_CLIENT_TOKEN_LENGTH}}}")


def request_digest(request: CheckpointDurableExecutionRequest) -> str:
    """A digest of everything in the request but its ClientToken.

    Raises:
        InvalidParameterValueError: the ClientToken is not 1-64 printable ASCII characters.
    """
    token = request.client_token
    if token is None or _CLIENT_TOKEN_RE.fullmatch(token) is None:
        raise InvalidParameterValueError(
            f"ClientToken must be 1-{limits.MAX_CLIENT_TOKEN_LENGTH} printable ASCII characters without spaces"
        )
    members = to_wire(request, timestamps="epoch_millis")
    members.pop("ClientToken", None)
    text = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _shown(token: str) -> str:
    return repr(token if len(token) <= 80 else f"{token[:77]}...")


def replay(
    tx: StoreTx, rec: ExecutionRecord, client_token: str, digest: str
) -> CheckpointDurableExecutionResponse | None:
    """The recorded response if this request was applied already; None if the token is new.

    Raises:
        InvalidParameterValueError: the ClientToken was used with another request, or for a
            checkpoint that is no longer this execution's latest.
    """
    found = tx.get_checkpoint_request(rec.key, client_token)
    if found is None:
        return None
    recorded_digest, response = found
    if recorded_digest != digest:
        raise InvalidParameterValueError(
            f"ClientToken {_shown(client_token)} was already used for a different checkpoint request of"
            " this execution; use a new ClientToken for each request (the same one only to retry it)"
        )
    if response is None:
        raise InvalidParameterValueError(
            f"ClientToken {_shown(client_token)} names a checkpoint that is no longer this execution's"
            " latest: its response was followed by later checkpoints, so it cannot be retried"
        )
    return from_wire(CheckpointDurableExecutionResponse, json.loads(response))


def record(
    tx: StoreTx,
    rec: ExecutionRecord,
    client_token: str,
    digest: str,
    response: CheckpointDurableExecutionResponse,
) -> None:
    """Remember the response of an applied request (in the request's own transaction)."""
    text = json.dumps(
        to_wire(response, timestamps="datetime"),
        separators=(",", ":"),
        ensure_ascii=False,
        default=_isoformat,
    )
    tx.put_checkpoint_request(rec.key, client_token, digest, text)


def _isoformat(value: object) -> str:
    # ISO text keeps the microseconds that epoch-seconds floats may round away.
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot record {type(value).__name__} in a checkpoint response")
