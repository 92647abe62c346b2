"""The SQLite schema: the ordered migrations that build it, and `CURRENT`, what they build.

`MIGRATIONS[i]` takes a database from version `i` to `i + 1`; the version reached is kept
in `PRAGMA user_version`. A released migration is never edited: changes are new entries.
A new file is created from `CURRENT` directly.
Times are integer microseconds since the epoch (exact and sortable). Standard library only.
"""

from __future__ import annotations

APPLICATION_ID = 0x50524455  # "PRDU": marks the file as a perdure database

_V1 = """
CREATE TABLE executions (
    key                  INTEGER PRIMARY KEY,
    arn                  TEXT NOT NULL UNIQUE,
    execution_id         TEXT NOT NULL,
    function_name        TEXT NOT NULL,
    function_arn         TEXT NOT NULL,
    name                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    input_payload        TEXT,
    start_us             INTEGER NOT NULL,
    end_us               INTEGER,
    execution_timeout    INTEGER NOT NULL,
    result               TEXT,
    error                TEXT,
    closing_status       TEXT,
    checkpoint_token     TEXT,
    request_id           TEXT,
    invocation_start_us  INTEGER,
    next_event_id        INTEGER NOT NULL,
    operation_count      INTEGER NOT NULL,
    needs_invocation     INTEGER NOT NULL,
    invoke_after_us      INTEGER,
    failed_invocations   INTEGER NOT NULL,
    invocation_count     INTEGER NOT NULL,
    updated_operation_ids TEXT NOT NULL,
    invoker              TEXT
);
CREATE UNIQUE INDEX executions_by_name ON executions (function_name, name);
CREATE INDEX executions_by_start ON executions (function_name, start_us);
CREATE INDEX executions_to_invoke ON executions (needs_invocation, invoke_after_us)
    WHERE needs_invocation = 1;
CREATE INDEX executions_invoking ON executions (request_id) WHERE request_id IS NOT NULL;

CREATE TABLE operations (
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    operation_id         TEXT NOT NULL,
    seq                  INTEGER NOT NULL,
    type                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    parent_id            TEXT,
    name                 TEXT,
    sub_type             TEXT,
    start_us             INTEGER NOT NULL,
    end_us               INTEGER,
    attempt              INTEGER,
    next_attempt_us      INTEGER,
    scheduled_end_us     INTEGER,
    result               TEXT,
    error                TEXT,
    replay_children      INTEGER,
    input_payload        TEXT,
    callback_id          TEXT,
    PRIMARY KEY (execution_key, operation_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX operations_by_seq ON operations (execution_key, seq);

CREATE TABLE events (
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    event_id             INTEGER NOT NULL,
    event_type           TEXT NOT NULL,
    timestamp_us         INTEGER NOT NULL,
    operation_id         TEXT,
    name                 TEXT,
    sub_type             TEXT,
    parent_id            TEXT,
    details              TEXT NOT NULL,
    PRIMARY KEY (execution_key, event_id)
) WITHOUT ROWID;

CREATE TABLE invocations (
    request_id           TEXT PRIMARY KEY,
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    start_us             INTEGER NOT NULL,
    end_us               INTEGER,
    error                TEXT
);
CREATE INDEX invocations_by_execution ON invocations (execution_key, start_us);

CREATE TABLE timers (
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    operation_id         TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    due_us               INTEGER NOT NULL,
    PRIMARY KEY (execution_key, operation_id, kind)
) WITHOUT ROWID;
CREATE INDEX timers_by_due ON timers (due_us);
"""

_V2 = """
ALTER TABLE executions ADD COLUMN parent_arn TEXT;
ALTER TABLE executions ADD COLUMN parent_operation_id TEXT;
"""
"""Chained invoke: an invoked execution names the execution and operation that started it."""

_V3 = """
ALTER TABLE executions ADD COLUMN revoked_token TEXT;
CREATE INDEX executions_by_parent ON executions (parent_arn) WHERE parent_arn IS NOT NULL;
CREATE TABLE checkpoint_requests (
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    client_token         TEXT NOT NULL,
    digest               TEXT NOT NULL,
    response             TEXT,
    PRIMARY KEY (execution_key, client_token)
) WITHOUT ROWID;
INSERT OR IGNORE INTO timers (execution_key, operation_id, kind, due_us)
    SELECT key, execution_id, 'execution_timeout', start_us + execution_timeout * 1000000
    FROM executions WHERE status = 'RUNNING';
"""
"""ExecutionTimeout enforced (a timer row per running execution, armed here for executions
started before it), the revoked token of an invocation the service ended, children by caller
(stopping a caller stops them), and ClientToken idempotency of checkpoints."""

_V4 = """
ALTER TABLE executions ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN reported_seq INTEGER NOT NULL DEFAULT 0;
CREATE TABLE operation_changes (
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    operation_id         TEXT NOT NULL,
    change_seq           INTEGER NOT NULL,
    PRIMARY KEY (execution_key, operation_id)
) WITHOUT ROWID;
CREATE INDEX operation_changes_by_seq ON operation_changes (execution_key, change_seq);
"""
"""What the service changed since the last checkpoint token. A service-side transition (a
timer fired, a callback or chained invoke completed) while an invocation runs gives each
operation it writes the execution's next change number (`executions.change_seq`), one row per operation (its latest);
`reported_seq` is the last number the running invocation was told about. Checkpoints write
no row: their own changes are in their response."""

_OPERATION_COLUMNS = (
    "execution_key, operation_id, seq, type, status, parent_id, name, sub_type, start_us, end_us,"
    " attempt, next_attempt_us, scheduled_end_us, result, error, replay_children, input_payload,"
    " callback_id"
)
_EVENT_COLUMNS = (
    "execution_key, event_id, event_type, timestamp_us, operation_id, name, sub_type, parent_id, details"
)

_V5 = f"""
CREATE TABLE operations_v5 (
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    operation_id         TEXT NOT NULL,
    seq                  INTEGER NOT NULL,
    type                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    parent_id            TEXT,
    name                 TEXT,
    sub_type             TEXT,
    start_us             INTEGER NOT NULL,
    end_us               INTEGER,
    attempt              INTEGER,
    next_attempt_us      INTEGER,
    scheduled_end_us     INTEGER,
    result               TEXT,
    error                TEXT,
    replay_children      INTEGER,
    input_payload        TEXT,
    callback_id          TEXT
);
INSERT INTO operations_v5 ({_OPERATION_COLUMNS})
    SELECT {_OPERATION_COLUMNS} FROM operations ORDER BY execution_key, seq;
DROP TABLE operations;
ALTER TABLE operations_v5 RENAME TO operations;
CREATE UNIQUE INDEX operations_by_id ON operations (execution_key, operation_id);
CREATE UNIQUE INDEX operations_by_seq ON operations (execution_key, seq);

CREATE TABLE events_v5 (
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    event_id             INTEGER NOT NULL,
    event_type           TEXT NOT NULL,
    timestamp_us         INTEGER NOT NULL,
    operation_id         TEXT,
    name                 TEXT,
    sub_type             TEXT,
    parent_id            TEXT,
    details              TEXT NOT NULL
);
INSERT INTO events_v5 ({_EVENT_COLUMNS})
    SELECT {_EVENT_COLUMNS} FROM events ORDER BY execution_key, event_id;
DROP TABLE events;
ALTER TABLE events_v5 RENAME TO events;
CREATE UNIQUE INDEX events_by_id ON events (execution_key, event_id);
"""
"""Operations and events become rowid tables (rows in insertion order, looked up through
unique indexes): a checkpoint appends to the table's last pages instead of inserting at the
random place its hashed operation id sorts to, and a payload of a few KiB stays in the row
(a WITHOUT ROWID row over ~1 KiB spills to an overflow page of its own). Copying migration."""

_V6 = """
ALTER TABLE events ADD COLUMN result_ref INTEGER;
"""
"""A terminal success event whose result is the one its operation (1) or its execution (2)
recorded in the same transaction keeps no copy of it: `details` has the Result without its
Payload, and reading the history joins it back. A large result is written once, not twice."""

_V7 = """
CREATE TABLE operation_results (
    result               TEXT NOT NULL
);
ALTER TABLE operations ADD COLUMN result_row INTEGER;
CREATE TRIGGER operation_results_freed AFTER UPDATE OF result_row ON operations
    WHEN old.result_row IS NOT NULL AND old.result_row IS NOT new.result_row
BEGIN
    DELETE FROM operation_results WHERE rowid = old.result_row;
END;
"""
"""A result of 1 KiB or more is kept out of its operation's row, in `operation_results`
(appended once, referenced by `operations.result_row`; the trigger frees a replaced one).
An operation row then never grows by a payload when its operation ends, which split the
page holding it (a context's START and its SUCCEED arrive in different checkpoints)."""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7)
"""Ordered migrations; `len(MIGRATIONS)` is the current schema version."""

SCHEMA_VERSION = len(MIGRATIONS)

CURRENT = """
CREATE TABLE executions (
    key                  INTEGER PRIMARY KEY,
    arn                  TEXT NOT NULL UNIQUE,
    execution_id         TEXT NOT NULL,
    function_name        TEXT NOT NULL,
    function_arn         TEXT NOT NULL,
    name                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    input_payload        TEXT,
    start_us             INTEGER NOT NULL,
    end_us               INTEGER,
    execution_timeout    INTEGER NOT NULL,
    result               TEXT,
    error                TEXT,
    closing_status       TEXT,
    checkpoint_token     TEXT,
    request_id           TEXT,
    invocation_start_us  INTEGER,
    next_event_id        INTEGER NOT NULL,
    operation_count      INTEGER NOT NULL,
    needs_invocation     INTEGER NOT NULL,
    invoke_after_us      INTEGER,
    failed_invocations   INTEGER NOT NULL,
    invocation_count     INTEGER NOT NULL,
    updated_operation_ids TEXT NOT NULL,
    invoker              TEXT,
    parent_arn           TEXT,
    parent_operation_id  TEXT,
    revoked_token        TEXT,
    change_seq           INTEGER NOT NULL DEFAULT 0,
    reported_seq         INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX executions_by_name ON executions (function_name, name);
CREATE INDEX executions_by_start ON executions (function_name, start_us);
CREATE INDEX executions_to_invoke ON executions (needs_invocation, invoke_after_us)
    WHERE needs_invocation = 1;
CREATE INDEX executions_invoking ON executions (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX executions_by_parent ON executions (parent_arn) WHERE parent_arn IS NOT NULL;

CREATE TABLE invocations (
    request_id           TEXT PRIMARY KEY,
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    start_us             INTEGER NOT NULL,
    end_us               INTEGER,
    error                TEXT
);
CREATE INDEX invocations_by_execution ON invocations (execution_key, start_us);

CREATE TABLE timers (
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    operation_id         TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    due_us               INTEGER NOT NULL,
    PRIMARY KEY (execution_key, operation_id, kind)
) WITHOUT ROWID;
CREATE INDEX timers_by_due ON timers (due_us);

CREATE TABLE checkpoint_requests (
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    client_token         TEXT NOT NULL,
    digest               TEXT NOT NULL,
    response             TEXT,
    PRIMARY KEY (execution_key, client_token)
) WITHOUT ROWID;

CREATE TABLE operation_changes (
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    operation_id         TEXT NOT NULL,
    change_seq           INTEGER NOT NULL,
    PRIMARY KEY (execution_key, operation_id)
) WITHOUT ROWID;
CREATE INDEX operation_changes_by_seq ON operation_changes (execution_key, change_seq);

CREATE TABLE operations (
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    operation_id         TEXT NOT NULL,
    seq                  INTEGER NOT NULL,
    type                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    parent_id            TEXT,
    name                 TEXT,
    sub_type             TEXT,
    start_us             INTEGER NOT NULL,
    end_us               INTEGER,
    attempt              INTEGER,
    next_attempt_us      INTEGER,
    scheduled_end_us     INTEGER,
    result               TEXT,
    error                TEXT,
    replay_children      INTEGER,
    input_payload        TEXT,
    callback_id          TEXT,
    result_row           INTEGER
);
CREATE UNIQUE INDEX operations_by_id ON operations (execution_key, operation_id);
CREATE UNIQUE INDEX operations_by_seq ON operations (execution_key, seq);

CREATE TABLE events (
    execution_key        INTEGER NOT NULL REFERENCES executions (key),
    event_id             INTEGER NOT NULL,
    event_type           TEXT NOT NULL,
    timestamp_us         INTEGER NOT NULL,
    operation_id         TEXT,
    name                 TEXT,
    sub_type             TEXT,
    parent_id            TEXT,
    details              TEXT NOT NULL,
    result_ref           INTEGER
);
CREATE UNIQUE INDEX events_by_id ON events (execution_key, event_id);

CREATE TABLE operation_results (
    result               TEXT NOT NULL
);
CREATE TRIGGER operation_results_freed AFTER UPDATE OF result_row ON operations
    WHEN old.result_row IS NOT NULL AND old.result_row IS NOT new.result_row
BEGIN
    DELETE FROM operation_results WHERE rowid = old.result_row;
END;
"""
"""The schema at `SCHEMA_VERSION`, declared whole: a new file is created from it in about
twenty statements (running the seven migrations took 1.9 of the 4.3 ms a new file took to open).
It must describe exactly what `MIGRATIONS` build, which tests/engine/test_sqlite_store.py
checks; a new migration changes it too."""
