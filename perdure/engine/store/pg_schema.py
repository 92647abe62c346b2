"""The PostgreSQL schema: the ordered migrations that build it, in the store's own schema
(namespace, `perdure` by default), so its tables never meet an application's.

`MIGRATIONS[i]` takes a schema from version `i` to `i + 1`; the version reached is kept in
its `schema_version` table. A released migration is never edited: changes are new entries.
Times are microseconds since the epoch (BIGINT); identifiers and names that are sorted are
`COLLATE "C"`, so they sort by code point, as SQLite sorts them. Standard library only.

This schema and SQLite's (`schema`) are written out apiece, not generated from one
declaration: both are released migrations, which are never edited, so a shared declaration
could only ever feed new migrations; and the tables differ beyond type names (SQLite's
`WITHOUT ROWID` tables, its `operation_results` spill table and trigger and the events'
`result_ref`; here the identity key, `COLLATE "C"`, other partial indexes, the
`schema_version` table and the `transactions` sequence).
"""

from __future__ import annotations

_V1 = """
CREATE TABLE schema_version (
    version              INTEGER NOT NULL
);
INSERT INTO schema_version (version) VALUES (0);
CREATE SEQUENCE transactions;

CREATE TABLE executions (
    key                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arn                  TEXT COLLATE "C" NOT NULL UNIQUE,
    execution_id         TEXT NOT NULL,
    function_name        TEXT COLLATE "C" NOT NULL,
    function_arn         TEXT NOT NULL,
    name                 TEXT COLLATE "C" NOT NULL,
    status               TEXT NOT NULL,
    input_payload        TEXT,
    start_us             BIGINT NOT NULL,
    end_us               BIGINT,
    execution_timeout    BIGINT NOT NULL,
    result               TEXT,
    error                TEXT,
    closing_status       TEXT,
    checkpoint_token     TEXT,
    request_id           TEXT,
    invocation_start_us  BIGINT,
    next_event_id        BIGINT NOT NULL,
    operation_count      BIGINT NOT NULL,
    needs_invocation     INTEGER NOT NULL,
    invoke_after_us      BIGINT,
    failed_invocations   BIGINT NOT NULL,
    invocation_count     BIGINT NOT NULL,
    updated_operation_ids TEXT NOT NULL,
    invoker              TEXT,
    parent_arn           TEXT,
    parent_operation_id  TEXT,
    revoked_token        TEXT,
    change_seq           BIGINT NOT NULL DEFAULT 0,
    reported_seq         BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX executions_by_name ON executions (function_name, name);
CREATE INDEX executions_by_start ON executions (function_name, start_us);
CREATE INDEX executions_to_invoke ON executions (invoke_after_us) WHERE needs_invocation = 1;
CREATE INDEX executions_invoking ON executions (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX executions_by_parent ON executions (parent_arn) WHERE parent_arn IS NOT NULL;

CREATE TABLE operations (
    execution_key        BIGINT NOT NULL REFERENCES executions (key),
    operation_id         TEXT COLLATE "C" NOT NULL,
    seq                  BIGINT NOT NULL,
    type                 TEXT NOT NULL,
    status               TEXT NOT NULL,
    parent_id            TEXT,
    name                 TEXT,
    sub_type             TEXT,
    start_us             BIGINT NOT NULL,
    end_us               BIGINT,
    attempt              BIGINT,
    next_attempt_us      BIGINT,
    scheduled_end_us     BIGINT,
    result               TEXT,
    error                TEXT,
    replay_children      INTEGER,
    input_payload        TEXT,
    callback_id          TEXT,
    PRIMARY KEY (execution_key, operation_id)
);
CREATE UNIQUE INDEX operations_by_seq ON operations (execution_key, seq);

CREATE TABLE events (
    execution_key        BIGINT NOT NULL REFERENCES executions (key),
    event_id             BIGINT NOT NULL,
    event_type           TEXT NOT NULL,
    timestamp_us         BIGINT NOT NULL,
    operation_id         TEXT,
    name                 TEXT,
    sub_type             TEXT,
    parent_id            TEXT,
    details              TEXT NOT NULL,
    PRIMARY KEY (execution_key, event_id)
);

CREATE TABLE invocations (
    request_id           TEXT PRIMARY KEY,
    execution_key        BIGINT NOT NULL REFERENCES executions (key),
    start_us             BIGINT NOT NULL,
    end_us               BIGINT,
    error                TEXT
);
CREATE INDEX invocations_by_execution ON invocations (execution_key, start_us);

CREATE TABLE timers (
    execution_key        BIGINT NOT NULL REFERENCES executions (key),
    operation_id         TEXT COLLATE "C" NOT NULL,
    kind                 TEXT COLLATE "C" NOT NULL,
    due_us               BIGINT NOT NULL,
    PRIMARY KEY (execution_key, operation_id, kind)
);
CREATE INDEX timers_by_due ON timers (due_us);

CREATE TABLE checkpoint_requests (
    execution_key        BIGINT NOT NULL REFERENCES executions (key),
    client_token         TEXT NOT NULL,
    digest               TEXT NOT NULL,
    response             TEXT,
    PRIMARY KEY (execution_key, client_token)
);

CREATE TABLE operation_changes (
    execution_key        BIGINT NOT NULL REFERENCES executions (key),
    operation_id         TEXT NOT NULL,
    change_seq           BIGINT NOT NULL,
    PRIMARY KEY (execution_key, operation_id)
);
CREATE INDEX operation_changes_by_seq ON operation_changes (execution_key, change_seq);
"""
"""`transactions` counts the transactions of every connection (each takes a number when it
begins), so a store sees another connection's commits by reading it (`external_version`).
The tables of SQLite's schema 7, less what SQLite needs for its page layout (PostgreSQL
keeps a large value out of its row by itself, TOAST): an operation keeps its result in its
row, and an event its own copy."""

_V2 = """
CREATE TABLE workers (
    worker_id            TEXT COLLATE "C" PRIMARY KEY,
    functions            TEXT[] NOT NULL,
    skip_time            BOOLEAN NOT NULL,
    started_at           TIMESTAMPTZ NOT NULL,
    expires_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE leases (
    execution_key        BIGINT PRIMARY KEY REFERENCES executions (key),
    request_id           TEXT NOT NULL,
    owner                TEXT COLLATE "C" NOT NULL,
    token                BIGINT NOT NULL,
    expires_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX leases_by_owner ON leases (owner);
"""
"""Many workers on one database: `workers` lists the serving processes (the functions each
registered, whether it runs on virtual time, until when its heartbeat holds); `leases` holds,
per execution, the lease of its open invocation: which invocation (`request_id`), which worker
owns it, its fencing token (incremented at every claim) and its expiry, on the database's
clock. A lease is live while it names the execution's open invocation and has not expired."""

_V3 = """
CREATE TABLE functions (
    name                 TEXT COLLATE "C" PRIMARY KEY,
    registered_at        TIMESTAMPTZ NOT NULL
);
INSERT INTO functions (name, registered_at)
    SELECT name, clock_timestamp() FROM (
        SELECT unnest(functions) AS name FROM workers UNION SELECT function_name FROM executions
    ) known;
"""
"""Every function a worker ever registered (`functions`: its name, when it was first seen),
kept when the worker goes: a start of one is accepted while no live worker has it (a
rolling restart), and waits for a worker that has it. Filled from the workers registered
and the executions started before this version."""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3)
"""Ordered migrations; `len(MIGRATIONS)` is the current schema version."""

SCHEMA_VERSION = len(MIGRATIONS)
