"""The function registry: durable functions by name, with the ARN forms Lambda accepts.

A function registered as `orders` also answers to `arn:aws:lambda:us-east-1:000000000000:
function:orders`, to its qualified ARN `...:function:orders:$LATEST`, and to any extra
aliases given at registration (e.g. the env-var string a chained invoke passes).
Imports only `perdure.wire`, `perdure.engine` internals and the standard library.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from perdure.engine.errors import UnknownFunctionError
from perdure.engine.invoker import Invocable

PARTITION = "aws"
REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
DEFAULT_VERSION = "$LATEST"

_FUNCTION_ARN_RE = re.compile(
    r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:function:([a-zA-Z0-9_-]+)(?::([^:/]+))?"
)
_NAME_RE = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def check_function_name(name: str) -> None:
    """Raises: ValueError unless `name` is 1-64 characters of [a-zA-Z0-9_-]."""
    if _NAME_RE.fullmatch(name) is None:
        raise ValueError(f"function name {name!r} must be 1-64 characters of [a-zA-Z0-9_-]")


def function_arn(name: str, version: str | None = None) -> str:
    """The local function ARN (`version` given: the qualified one)."""
    base = f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
    return base if version is None else f"{base}:{version}"


def function_name_of(name_or_arn: str) -> str:
    """The bare function name in a name, a function ARN or a qualified function ARN."""
    match = _FUNCTION_ARN_RE.fullmatch(name_or_arn)
    if match is not None:
        return match.group(1)
    if ":" in name_or_arn:  # "name:qualifier"
        return name_or_arn.split(":", 1)[0]
    return name_or_arn


@dataclass(frozen=True, slots=True)
class RegisteredFunction:
    name: str
    invocable: Invocable
    version: str = DEFAULT_VERSION

    @property
    def arn(self) -> str:
        return function_arn(self.name)

    @property
    def qualified_arn(self) -> str:
        return function_arn(self.name, self.version)


class FunctionRegistry:
    """Names and aliases -> registered functions (thread-safe)."""

    def __init__(self) -> None:
        self._by_key: dict[str, RegisteredFunction] = {}
        self._lock = threading.Lock()

    def register(
        self, name: str, invocable: Invocable, aliases: tuple[str, ...] | list[str] = ()
    ) -> RegisteredFunction:
        """Register `invocable` as function `name` (replacing an earlier registration).

        Raises:
            ValueError: `name` is not 1-64 characters of [a-zA-Z0-9_-].
        """
        check_function_name(name)
        fn = RegisteredFunction(name, invocable)
        with self._lock:
            for key in (name, fn.arn, fn.qualified_arn, f"{name}:{fn.version}", *aliases):
                self._by_key[key] = fn
        return fn

    def get(self, name_or_arn: str) -> RegisteredFunction | None:
        with self._lock:
            fn = self._by_key.get(name_or_arn)
            if fn is None:
                fn = self._by_key.get(function_name_of(name_or_arn))
            return fn

    def resolve(self, name_or_arn: str) -> RegisteredFunction:
        """Raises: UnknownFunctionError naming the function and what is registered."""
        fn = self.get(name_or_arn)
        if fn is None:
            with self._lock:
                known = sorted({f.name for f in self._by_key.values()})
            raise UnknownFunctionError(
                f"no durable function registered as {name_or_arn!r} (registered: {', '.join(known) or 'none'})"
            )
        return fn

    def names(self) -> list[str]:
        with self._lock:
            return sorted({f.name for f in self._by_key.values()})
