"""The SDK's one rule for payload sizes: how big a payload is, and refusing one too big.

Owns `check_payload_size` (the `SerDesError` naming the operation, what was too large, the
size and the limit; the size is measured by `perdure.wire.limits.size_over`). Steps, child contexts,
wait-for-condition, chained invoke and the offloading serdes all ask here. The checkpoint
writer's request-size estimate (`perdure.sdk.batcher.estimate_update_bytes`) is another
rule: the size of an update as the request's JSON carries it. Imports only
`perdure.wire`, `perdure.sdk.errors` and the standard library.
"""

from __future__ import annotations

from perdure.wire.limits import MAX_OPERATION_PAYLOAD_BYTES, size_over

from .errors import SerDesError

OFFLOAD_ADVICE = (
    "return a smaller value or use an offloading serdes (perdure.OffloadSerDes) that stores the"
    " value elsewhere and checkpoints a reference"
)


def check_payload_size(
    kind: str,
    operation_id: str,
    name: str | None,
    payload: str | None,
    *,
    what: str = "result",
    limit: int = MAX_OPERATION_PAYLOAD_BYTES,
    limit_name: str = "checkpoint payload limit",
    advice: str = OFFLOAD_ADVICE,
) -> None:
    """Reject a payload too large to send.

    Raises:
        SerDesError: naming the operation, what was too large, the size and the limit.
    """
    size = size_over(payload, limit)
    if size is None:
        return
    label = f"{name!r} (id {operation_id})" if name else operation_id
    raise SerDesError(
        f"{kind} {label} {what} is {size:,} bytes, over the {limit:,}-byte {limit_name}; {advice}"
    )


__all__ = ["OFFLOAD_ADVICE", "check_payload_size"]
