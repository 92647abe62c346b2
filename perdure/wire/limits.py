"""Service limits, in one place (DECISIONS §3). Sizes are UTF-8 bytes."""

from __future__ import annotations

MAX_OPERATION_PAYLOAD_BYTES = 256 * 1024
"""A checkpointed step, context, callback or chained-invoke payload."""

MAX_CHAINED_INVOKE_PAYLOAD_BYTES = MAX_OPERATION_PAYLOAD_BYTES
"""A chained invoke's input payload, and the result it hands back (DECISIONS §3, issue 4:
the per-operation checkpoint limit; larger values go through an offloading serdes)."""

MAX_CHECKPOINT_REQUEST_BYTES = 750 * 1024
MAX_CHECKPOINT_UPDATES = 250

MAX_RESPONSE_BYTES = 6 * 1024 * 1024
"""Invocation response / execution result; larger results go through an EXECUTION update."""

MAX_WIRE_PAYLOAD_BYTES = 6_291_456
"""The botocore bound on any `Payload`/`InputPayload` string."""

MIN_DELAY_SECONDS = 1
MAX_DELAY_SECONDS = 31_622_400

MAX_NAME_LENGTH = 256
MAX_ID_LENGTH = 64
MAX_SUB_TYPE_LENGTH = 32
MAX_EXECUTION_NAME_LENGTH = 64

MAX_EXECUTION_TIMEOUT_SECONDS = 31_622_400
"""`DurableConfig.ExecutionTimeout` is 1..31,622,400 seconds (botocore)."""

DEFAULT_MAX_OPERATIONS = 3_000
"""Operations per execution on AWS; the engine's default is configurable."""

MAX_STATE_PAGE = 1000


def utf8_size(text: str) -> int:
    """The size of `text` in UTF-8 bytes, the unit of every size limit above."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))
