"""Checkpoint tokens: how they are made, and the one place they are compared.

A token is `<32 hex digits: 128 random bits, one per invocation><decimal sequence>`: it fits
botocore's CheckpointToken pattern `[A-Za-z0-9+/]+={0,2}`, the secret binds it to one
invocation, and the sequence (1, 2, ...) numbers the checkpoints within it. Tokens are
secrets: they are compared in constant time (`hmac.compare_digest`), and only exactly the
text the engine issued matches (no prefix, no suffix, no other spelling of the number).
Imports only the standard library.
"""

from __future__ import annotations

import hmac
import re
import secrets

_SECRET_LENGTH = 32
_TOKEN_RE = re.compile(rf"[0-9a-f]{{{_SECRET_LENGTH}}}[1-9][0-9]{{0,17}}")
"""The shape of every token the engine issues (a sequence below 10^18: a string of at most
50 characters, far under botocore's 2,048)."""


def new_token() -> str:
    """A fresh, unguessable checkpoint token for a new invocation (sequence 1)."""
    return f"{secrets.token_hex(_SECRET_LENGTH // 2)}1"


def next_token(token: str) -> str:
    """The token after `token` within the same invocation (same secret, next number)."""
    return f"{token[:_SECRET_LENGTH]}{int(token[_SECRET_LENGTH:]) + 1}"


def _same(a: str, b: str) -> bool:
    # compare_digest refuses non-ASCII str; bytes compare any text in constant time.
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def is_current(token: object, current: str | None) -> bool:
    """Whether `token` is exactly `current`, the one token a checkpoint may present now."""
    return isinstance(token, str) and current is not None and _same(token, current)


def is_of_invocation(token: object, current: str | None) -> bool:
    """Whether `token` is one the engine issued to the invocation whose latest token is
    `current` (`GetDurableExecutionState` accepts any of them): the same secret, compared in
    constant time, and a sequence number from 1 up to the current one."""
    if not isinstance(token, str) or current is None or _TOKEN_RE.fullmatch(token) is None:
        return False
    same_secret = _same(token[:_SECRET_LENGTH], current[:_SECRET_LENGTH])
    return same_secret and int(token[_SECRET_LENGTH:]) <= int(current[_SECRET_LENGTH:])
