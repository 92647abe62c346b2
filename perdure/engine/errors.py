"""Errors the engine raises itself (the wire's service errors live in `perdure.wire.errors`).

    PerdureError (perdure.wire.errors)
    └── EngineError                   the engine cannot do what was asked
        ├── StoreError                the store failed (an I/O or SQLite error, translated)
        │   ├── StoreCorruptedError   the database file is not a perdure database / is damaged
        │   └── StoreConflictError    a transaction lost a lock conflict (retried by `Store.run`)
        ├── UnknownFunctionError      no function registered under that name
        └── EngineStalledError        an execution waits on nothing the engine can fire

Imports only `perdure.wire` and the standard library.
"""

from __future__ import annotations

from perdure.wire.errors import PerdureError


class EngineError(PerdureError):
    """Root of the engine's own errors."""


class StoreError(EngineError):
    """The store failed; the message names the database and the cause."""


class StoreCorruptedError(StoreError):
    """The database file is damaged or is not a perdure database."""


class StoreConflictError(StoreError):
    """A transaction lost a lock conflict with another worker's (a deadlock, a serialization
    failure, a lock it must not wait for): rolled back, nothing applied; `Store.run` runs
    it again."""


class UnknownFunctionError(EngineError, LookupError):
    """No function is registered under that name or ARN."""


class EngineStalledError(EngineError):
    """`drive` found an execution RUNNING with nothing scheduled to wake it."""
