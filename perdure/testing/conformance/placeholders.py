"""Placeholders of the conformance requirements: `${X}`, `${/re/}`, `${GEN_STR:N}`.

One `Placeholders` context lives for a whole requirement run. `Variables` bind first
(generators make random values), then history matching binds `${X}` names on first sight
and checks them afterwards, and every later string (callback payloads, the expected
result, expected logs) is substituted textually with the names bound so far. Unbound
names are left verbatim, as the reference runner does.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from typing import Any

WHOLE_PLACEHOLDER = re.compile(r"^\$\{(.+)\}$")
REGEX_PLACEHOLDER = re.compile(r"^\$\{/(.+)/\}$")
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
GENERATOR = re.compile(r"^\$\{GEN_STR:(\d+)\}$")
_ALPHABET = string.ascii_lowercase + string.digits

_UNSET = object()


def generate_string(length: int) -> str:
    """`length` random characters from `[a-z0-9]`."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def regex_of(value: Any) -> str | None:
    """The pattern of a whole-string `${/re/}`, else None."""
    if isinstance(value, str):
        match = REGEX_PLACEHOLDER.match(value)
        if match is not None:
            return match.group(1)
    return None


def placeholder_name(value: Any) -> str | None:
    """The name of a whole-string `${NAME}` (not a regex), else None."""
    if isinstance(value, str) and regex_of(value) is None:
        match = WHOLE_PLACEHOLDER.match(value)
        if match is not None:
            return match.group(1)
    return None


class Placeholders:
    """The bindings of one requirement run."""

    def __init__(self, bindings: Mapping[str, Any] | None = None) -> None:
        self._bound: dict[str, Any] = dict(bindings or {})

    @property
    def bound(self) -> dict[str, Any]:
        return dict(self._bound)

    def get(self, name: str) -> Any:
        return self._bound.get(name)

    def is_bound(self, name: str) -> bool:
        return name in self._bound

    def bind_variables(self, variables: Mapping[str, Any] | None) -> None:
        """Bind `Variables`: `${GEN_STR:N}` generates, anything else is a literal."""
        for name, raw in (variables or {}).items():
            match = GENERATOR.match(raw) if isinstance(raw, str) else None
            self._bound[str(name)] = generate_string(int(match.group(1))) if match else raw

    def bind_or_check(self, name: str, actual: Any) -> str | None:
        """Bind `name` to `actual` on first use; later, require equality. Returns an error or None."""
        bound = self._bound.get(name, _UNSET)
        if bound is _UNSET:
            self._bound[name] = actual
            return None
        if bound != actual:
            return f"placeholder ${{{name}}} is bound to {bound!r}, actual {actual!r}"
        return None

    def substitute_text(self, text: str) -> str:
        """Replace every bound `${NAME}` inside `text` by `str(value)`; unbound names stay."""

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in self._bound:
                return str(self._bound[name])
            return match.group(0)

        return REFERENCE.sub(replace, text)

    def substitute(self, value: Any) -> Any:
        """Substitute recursively through dicts and lists (keys too)."""
        if isinstance(value, str):
            return self.substitute_text(value)
        if isinstance(value, dict):
            return {self.substitute(k): self.substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        return value
