"""Deterministic operation ids: one pure function.

The n-th operation (1-based) started by a context whose own id is `prefix` (None for the
root) gets ``blake2b(f"{prefix}-{n}")`` — ``blake2b(str(n))`` at the root — as 64 hex
characters. This is the official SDK's scheme, so histories are interchangeable: the root's
first operation is ``1ced8f5be2db...``. Map/parallel branches use their 0-based index in
the batch operation's namespace. Imports only the standard library.
"""

from __future__ import annotations

try:
    from _blake2 import blake2b  # hashlib's own blake2b, without loading OpenSSL's hashes
except ImportError:  # pragma: no cover - an interpreter built without it
    from hashlib import blake2b


def operation_id(prefix: str | None, position: int) -> str:
    """The id of the operation at `position` in the context identified by `prefix`.

    Args:
        prefix: the owning context's operation id, or None (or "") for the root.
        position: the 1-based counter of the context (0-based index for batch branches).

    Returns:
        64 lowercase hex characters, the same in every process and run.
    """
    key = f"{prefix}-{position}" if prefix else str(position)
    return blake2b(key.encode()).hexdigest()[:64]
