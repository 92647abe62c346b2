"""What only the PostgreSQL store does: its schema (namespace) and migrations, refusing what
is not its own, hiding passwords, reopening a broken connection, `synchronous_commit`, and
being chosen by a `postgresql://` location (Engine.open, PERDURE_DB, the CLI's --db).

The behaviour it shares with SQLite is tested on both stores (the `store_url` fixture,
tests/engine/test_store_differential.py, the conformance suite)."""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
import pytest

from perdure.cli.main import main
from perdure.engine import Engine, StoreCorruptedError, StoreError
from perdure.engine.store import DB_ENV_VAR, default_db_location, open_store
from perdure.engine.store.pg_schema import SCHEMA_VERSION
from perdure.engine.store.postgres import PostgresStore, split_schema

ROOT = Path(__file__).resolve().parents[2]


def _admin(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(split_schema(url)[0], autocommit=True)


def test_a_new_schema_is_created_at_the_current_version_and_keeps_what_was_committed(pg_url: str) -> None:
    with Engine.open(pg_url, skip_time=True) as engine:
        engine.register_function("fn", lambda i, c: None)  # type: ignore[arg-type, return-value]
        arn = engine.start_execution("fn", '"in"', "kept")
        store = engine.store
        assert isinstance(store, PostgresStore)
        assert store.schema_version() == SCHEMA_VERSION
        assert store.schema == split_schema(pg_url)[1]
    with Engine.open(pg_url) as reopened:
        assert reopened.get_execution(arn).input_payload == '"in"'


def test_a_schema_holding_other_tables_is_refused(pg_url: str) -> None:
    schema = split_schema(pg_url)[1]
    with _admin(pg_url) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".orders (id int)')
    with pytest.raises(StoreCorruptedError, match=rf"schema {schema} .* is not a perdure store"):
        open_store(pg_url)


def test_a_schema_newer_than_this_perdure_is_refused(pg_url: str) -> None:
    open_store(pg_url).close()
    with _admin(pg_url) as conn:
        conn.execute(f'UPDATE "{split_schema(pg_url)[1]}".schema_version SET version = {SCHEMA_VERSION + 1}')
    with pytest.raises(StoreError, match=r"newer than this perdure .*; upgrade perdure"):
        open_store(pg_url)


def test_errors_name_the_server_but_never_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        PostgresStore("postgresql://alice:s3cret@127.0.0.1:1/db")
    assert "postgresql://alice@127.0.0.1:1/db" in str(caught.value)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("schema", ["Upper", "1st", "semi;colon", ""])
def test_a_schema_name_that_is_not_a_plain_identifier_is_refused(schema: str) -> None:
    with pytest.raises(StoreError, match=r"schema name .* is not allowed"):
        PostgresStore("postgresql://postgres@127.0.0.1:1/db", schema=schema)


def test_a_connection_the_server_cut_is_reopened_by_the_next_transaction(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    try:
        pid = store._conn.info.backend_pid
        with _admin(pg_url) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with store.transaction() as tx:
            assert tx.function_names() == []
        assert store._conn.info.backend_pid != pid
    finally:
        store.close()


@pytest.mark.parametrize(("durability", "setting"), [("full", "on"), ("normal", "off")])
def test_durability_sets_synchronous_commit(pg_url: str, durability: str, setting: str) -> None:
    store = PostgresStore(pg_url, durability=durability)
    try:
        row = store._conn.execute("SHOW synchronous_commit").fetchone()
        assert row is not None and row[0] == setting
    finally:
        store.close()


def test_perdure_db_may_name_a_postgres_database(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DB_ENV_VAR, pg_url)
    assert default_db_location() == pg_url
    with Engine.open() as engine:
        assert isinstance(engine.store, PostgresStore)


def test_a_postgres_url_without_psycopg_asks_for_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "perdure.engine.store.postgres", None)
    with pytest.raises(StoreError, match=r"pip install 'perdure\[postgres\]'"):
        open_store("postgresql://postgres@127.0.0.1/db")


def test_the_cli_runs_and_lists_on_a_postgres_url(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    example = str(ROOT / "examples" / "order.py")
    order = '{"order_id": "o-7", "items": ["lamp"]}'
    assert main(["run", f"{example}:handler", "--input", order, "--db", pg_url, "--skip-time"]) == 0
    assert "SUCCEEDED" in capsys.readouterr().out
    assert main(["list", "--db", pg_url, "--json"]) == 0
    assert '"SUCCEEDED"' in capsys.readouterr().out


def test_text_with_a_nul_character_is_refused_with_a_store_error(pg_url: str) -> None:
    with Engine.open(pg_url, skip_time=True) as engine:
        engine.register_function("fn", lambda i, c: None)  # type: ignore[arg-type, return-value]
        with pytest.raises(StoreError, match="NUL"):
            engine.start_execution("fn", '"a\x00b"', "nul")
        assert engine.function_names() == []
