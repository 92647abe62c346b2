"""Service limits, in one place. Sizes are UTF-8 bytes, lengths are characters.

Where the botocore Lambda model bounds a member, the constant is that bound (a test reads the
model and checks each one); the engine's own tighter limits (256 KiB per operation, 750 KiB
per checkpoint) are named for what they limit. An input over a bound is refused with an
`InvalidParameterValueException` naming the member, and changes nothing.
"""

from __future__ import annotations

MAX_OPERATION_PAYLOAD_BYTES = 256 * 1024
"""A checkpointed step, context, callback or chained-invoke payload."""

MAX_CHAINED_INVOKE_PAYLOAD_BYTES = MAX_OPERATION_PAYLOAD_BYTES
"""A chained invoke's input payload, and the result it hands back (the
per-operation checkpoint limit; larger values go through an offloading serdes)."""

MAX_CHECKPOINT_REQUEST_BYTES = 750 * 1024
MAX_CHECKPOINT_UPDATES = 250

MAX_RESPONSE_BYTES = 6 * 1024 * 1024
"""Invocation response / execution result; larger results go through an EXECUTION update."""

MAX_WIRE_PAYLOAD_BYTES = 6_291_456
"""The botocore bound on any `Payload`/`InputPayload` string."""

MIN_DELAY_SECONDS = 1
MAX_DELAY_SECONDS = 31_622_400

MAX_NAME_LENGTH = 256
"""`OperationName`."""
MAX_ID_LENGTH = 64
"""`OperationId` (an update's Id and ParentId)."""
MAX_SUB_TYPE_LENGTH = 32
"""`OperationSubType`."""
MAX_EXECUTION_NAME_LENGTH = 64
"""`DurableExecutionName`."""
MAX_CLIENT_TOKEN_LENGTH = 64
"""`ClientToken` of a checkpoint request."""
MAX_CHECKPOINT_TOKEN_LENGTH = 2048
"""`CheckpointToken` (the engine issues far shorter ones)."""
MAX_CALLBACK_ID_LENGTH = 1024
"""`CallbackId`."""
MAX_FUNCTION_NAME_LENGTH = 256
"""`NamespacedFunctionName`: a chained invoke's or an `Invoke`'s FunctionName."""
MAX_TENANT_ID_LENGTH = 256
"""`TenantId`."""
MAX_CALLBACK_RESULT_WIRE_BYTES = 1_048_576
"""The botocore bound on a callback's `Result` blob; the engine keeps a callback result to
`MAX_OPERATION_PAYLOAD_BYTES`, the per-operation limit, as AWS documents."""

MAX_ERROR_BYTES = MAX_OPERATION_PAYLOAD_BYTES
"""An `ErrorObject` a request hands the engine to store on its own (a StopDurableExecution
error, a callback failure, an EXECUTION FAIL update), as compact JSON. The model bounds none of
its members; without a bound, one request could store any amount."""

MAX_MARKER = 2**63 - 1
"""The largest page `Marker` number (the store's 64-bit integer keys)."""

MAX_EXECUTION_TIMEOUT_SECONDS = 31_622_400
"""`DurableConfig.ExecutionTimeout` is 1..31,622,400 seconds (botocore)."""

DEFAULT_MAX_OPERATIONS = 3_000
"""Operations per execution on AWS; the engine's default is configurable."""

MAX_STATE_PAGE = 1000

STATE_PAGE_BYTES = MAX_WIRE_PAYLOAD_BYTES - 64 * 1024
"""The most an invocation event's `InitialExecutionState` (and a state page) holds, as JSON:
Lambda's 6 MB invoke payload less room for the event's other members. The rest of a larger
state is read through `GetDurableExecutionState` with the `NextMarker`."""


def utf8_size(text: str) -> int:
    """The size of `text` in UTF-8 bytes, the unit of every size limit above."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


_CONTROL_BYTES = bytes(range(0x20)) + b"\x7f"
"""The ASCII control characters and DEL, which JSON escapes (`\\n`, `\\u007f`)."""


def ascii_json_length(text: str) -> int | None:
    """The length of `text` as the contents of a JSON string, when `text` is ASCII without
    control characters: only quotes and backslashes grow (to two characters). None for any
    other text, whose escaped length only an encoding measures.

    Deleting the control bytes from an ASCII copy (two C loops over bytes) costs half of
    `str.isprintable`, which looks up every character's Unicode category.
    """
    if not text.isascii():
        return None
    raw = text.encode("ascii")
    if len(raw.translate(None, _CONTROL_BYTES)) != len(raw):
        return None
    return len(text) + text.count('"') + text.count("\\")


def size_over(text: str | None, limit: int) -> int | None:
    """The UTF-8 size of `text` if it is over `limit` bytes, else None (also for None).

    Measures only a text that could be over: a character is at most 4 bytes.
    """
    if text is None or len(text) * 4 <= limit:
        return None
    size = utf8_size(text)
    return size if size > limit else None
