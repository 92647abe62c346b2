"""The engine-replay tool of benchmarks/ runs (a smoke test: it measures, it asserts no timing)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import replay


def test_replay_sends_a_workloads_requests_to_a_fresh_engine(capsys: pytest.CaptureFixture[str]) -> None:
    assert replay.main(["W2-100", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("W2-100: ") and "updates; engine median" in out
