"""Fixtures every test directory may use: the PostgreSQL database of this test session.

`pg_url` is a fresh PostgreSQL store location (its own schema); `store_url` is a fresh
store location on each backend (parametrized: a SQLite file, then PostgreSQL). See
tests/postgres.py for how the server is found and when its tests skip or fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import postgres


@pytest.fixture(scope="session")
def pg_database(worker_id: str) -> Iterator[str]:
    yield from postgres.session_database(worker_id)


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    url = postgres.fresh_schema_url(pg_database)
    yield url
    postgres.give_back(url)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """A fresh store location: a SQLite file, or a PostgreSQL URL with a schema of its own."""
    if request.param == "sqlite":
        return tmp_path / "perdure.db"
    return str(request.getfixturevalue("pg_url"))


def pytest_report_header(config: pytest.Config) -> str:
    reason = postgres.unreachable()
    if reason is None:
        return f"postgresql: {postgres.server_url()} (the PostgreSQL store tests run)"
    verdict = "they FAIL" if postgres.required() else "they are SKIPPED"
    return f"postgresql: {reason}: {verdict}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One section naming the PostgreSQL tests that were skipped (by file) and why."""
    skipped = [
        r for r in terminalreporter.stats.get("skipped", []) if postgres.SKIP_PREFIX in str(r.longrepr)
    ]
    if not skipped:
        return
    by_file: dict[str, int] = {}
    for report in skipped:
        path = report.nodeid.split("::")[0]
        by_file[path] = by_file.get(path, 0) + 1
    reason = str(skipped[0].longrepr[2]) if isinstance(skipped[0].longrepr, tuple) else ""
    terminalreporter.write_sep("=", f"{len(skipped)} PostgreSQL tests skipped", yellow=True)
    terminalreporter.write_line(reason.removeprefix("Skipped: "))
    for path, count in sorted(by_file.items()):
        terminalreporter.write_line(f"  {path}: {count}")
