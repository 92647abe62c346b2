"""`perdure serve` under a seeded fuzz over HTTP: no answer >= 500, nothing it held changes.

A few thousand requests (`make fuzz` runs more): every route, with members of the wrong
type or out of range, deep nesting, truncated, huge and non-UTF-8 bodies, other methods
(HEAD, OPTIONS, TRACE, CONNECT, lower case, made up), CR and LF in paths and in the
request line. Afterwards the executions that existed before (succeeded, failed,
running with a pending callback) have the same state and history, and the database
passes `PRAGMA integrity_check`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .server_fuzz import METHODS, ROUTES, run_fuzz

pytestmark = pytest.mark.timeout(600)

REQUESTS = 3000


def test_fuzzed_requests_get_no_5xx_and_change_no_execution_that_existed_before(tmp_path: Path):
    seed = int(os.environ.get("PERDURE_FUZZ_SEED", "7"))
    report = run_fuzz(REQUESTS, seed, tmp_path)
    assert report.ok, f"seed {seed}\n{report.summary()}"
    assert report.requests == REQUESTS and set(report.by_route) == set(ROUTES)
    # the mutated requests were mostly refused, and some valid ones were answered
    assert report.by_status["400"] > REQUESTS // 3 and report.by_status["200"] + report.by_status["202"] > 0
    assert report.held_checkpoints > 0  # some checkpoints reached the engine with a live token
    # every method was sent, and broken request lines too; each got an answer (report.ok)
    methods = {key.split()[0] for key in report.by_method}
    assert methods >= {m[:12] for m in METHODS} | {"line"}, methods
