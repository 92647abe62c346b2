"""Every example runs end to end through the CLI, as a user would run it.

Each `examples/*.py` declares `EXAMPLE_INPUT` (a literal dict) and a `handler`; this test
runs `perdure run examples/<file>:handler --input ... --memory --skip-time --json` in a
subprocess and reads the JSON object on the last line of its output.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def example_input(path: Path) -> dict[str, Any]:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "EXAMPLE_INPUT" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, dict)
            return value
    raise AssertionError(f"{path.name} declares no EXAMPLE_INPUT literal")


def perdure_command() -> list[str]:
    """The installed `perdure` console script (what a user types), or its entry point."""
    script = Path(sys.executable).parent / "perdure"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from perdure.cli.main import main; sys.exit(main())"]


def run_cli(*args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    proc = subprocess.run(
        [*perdure_command(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    lines = [line for line in proc.stdout.strip().splitlines() if line.strip()]
    assert lines, f"no output; exit {proc.returncode}; stderr:\n{proc.stderr[-2000:]}"
    try:
        report = json.loads(lines[-1])
    except json.JSONDecodeError:
        raise AssertionError(
            f"last line is not JSON: {lines[-1]!r}\nstderr:\n{proc.stderr[-2000:]}"
        ) from None
    return proc, report


def run_example(
    path: Path, payload: dict[str, Any]
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    return run_cli(
        "run",
        f"{path.relative_to(ROOT)}:handler",
        "--input",
        json.dumps(payload),
        "--memory",
        "--skip-time",
        "--json",
    )


def test_there_are_examples() -> None:
    assert any(p.name == "order.py" for p in EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_succeeds(path: Path) -> None:
    proc, report = run_example(path, example_input(path))
    assert report["status"] == "SUCCEEDED", report
    assert proc.returncode == 0
    assert {"execution_arn", "status", "result", "error", "invocations"} <= set(report)
    assert report["error"] is None
    assert isinstance(report["invocations"], int) and report["invocations"] >= 1


def test_order_result() -> None:
    path = ROOT / "examples" / "order.py"
    _, report = run_example(path, example_input(path))
    result = report["result"]
    assert result["order_id"] == "o-1001"
    assert result["status"] == "shipped"
    assert result["total_cents"] == 1800 + 4250
    assert result["charge_attempts"] == 2  # the first attempt "times out", the retry succeeds
    assert result["charge_id"].startswith("ch_")
    assert result["tracking_number"].startswith("TRK")
    # The retry delay and the 5 s wait each end an invocation: the order needs replays.
    assert report["invocations"] >= 2


def test_order_is_deterministic() -> None:
    path = ROOT / "examples" / "order.py"
    first = run_example(path, example_input(path))[1]["result"]
    second = run_example(path, example_input(path))[1]["result"]
    assert first == second


def test_order_out_of_stock_fails_without_retrying() -> None:
    path = ROOT / "examples" / "order.py"
    proc, report = run_example(path, {"order_id": "o-2", "items": ["book", "unicorn"]})
    assert report["status"] == "FAILED", report
    assert proc.returncode != 0
    assert "unicorn" in json.dumps(report["error"])
    assert report["invocations"] == 1  # a non-retryable step error ends the execution at once


def test_async_http_calls_the_api_concurrently() -> None:
    path = ROOT / "examples" / "async_http.py"
    payload = example_input(path)
    _, report = run_example(path, payload)
    assert report["status"] == "SUCCEEDED", report
    result = report["result"]
    highs = {city: sum(map(ord, city)) % 35 for city in payload["cities"]}
    assert result["forecasts"] == highs
    assert result["warmest"] == max(highs, key=lambda city: highs[city])
    # Oslo's first call gets a 503; its step is retried after a delay, in a later invocation.
    assert result["attempts"] == {city: 2 if city == "oslo" else 1 for city in payload["cities"]}
    assert report["invocations"] >= 2
    # The API holds each answer until every city has asked (or 10 s pass): the calls overlap
    # only if the steps really run concurrently.
    assert result["max_in_flight"] == len(payload["cities"])
