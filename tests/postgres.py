"""The PostgreSQL server the tests use, and a database of their own on it.

`PERDURE_TEST_POSTGRES` names the server (default: postgresql://postgres@127.0.0.1:5432/postgres,
trust authentication). Each test session (each pytest-xdist worker) creates its own
database, `perdure_test_<worker>_<pid>`, and drops it at the end; each test gets a fresh
schema in it. When the server cannot be reached, the PostgreSQL tests are skipped with
that reason, unless `PERDURE_REQUIRE_POSTGRES=1` (CI sets it), which makes them fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

SERVER_ENV = "PERDURE_TEST_POSTGRES"
REQUIRE_ENV = "PERDURE_REQUIRE_POSTGRES"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SKIP_PREFIX = "PostgreSQL tests skipped"


def server_url() -> str:
    return os.environ.get(SERVER_ENV) or DEFAULT_SERVER


def required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def unreachable() -> str | None:
    """Why the server cannot be used (None: it can)."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(server_url(), autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL server at {server_url()} ({str(exc).strip().splitlines()[0]})"
    return None


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def session_database(worker: str) -> Iterator[str]:
    """Create this session's database; its URL; drop it afterwards."""
    reason = unreachable()
    if reason is not None:
        message = f"{SKIP_PREFIX}: {reason}; set {SERVER_ENV} to point at a server"
        if required():
            pytest.fail(f"{message} ({REQUIRE_ENV} is set: a server is required)", pytrace=False)
        pytest.skip(message)
    import psycopg

    name = f"perdure_test_{worker}_{os.getpid()}"
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(server_url(), name)
    finally:
        with psycopg.connect(server_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_POOL: list[str] = []
"""Schemas of this session's database that hold an empty store (creating one takes ~150 ms
of DDL; emptying one a few)."""


def fresh_schema_url(database_url: str) -> str:
    """A store location in the session's database with nothing in it: an emptied schema a
    finished test gave back (`give_back`), or a new one."""
    schema = _POOL.pop() if _POOL else f"t_{uuid.uuid4().hex[:16]}"
    return f"{database_url}?schema={schema}"


def give_back(url: str) -> None:
    """Empty the store at `url` for the next test; a schema that is not a current, intact
    store (a test made it foreign or newer) is dropped instead."""
    import psycopg

    from perdure.engine.store.pg_schema import SCHEMA_VERSION
    from perdure.engine.store.postgres import split_schema

    database_url, schema = split_schema(url)
    assert schema is not None
    with psycopg.connect(database_url, autocommit=True) as conn:
        tables = {
            r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
        }
        if not tables:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            return
        version = None
        if "schema_version" in tables:
            row = conn.execute(f'SELECT version FROM "{schema}".schema_version').fetchone()
            version = row[0] if row else None
        if version != SCHEMA_VERSION:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
            return
        children = sorted(tables - {"schema_version", "executions"})
        statements = [f'DELETE FROM "{schema}".{table}' for table in [*children, "executions"]]
        conn.execute("; ".join(statements))
    _POOL.append(schema)
