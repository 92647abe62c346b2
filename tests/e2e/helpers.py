"""Shared helpers for the end-to-end tests (subprocess CLI runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

FLOWS = Path(__file__).parent / "flows"


def perdure_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "perdure.cli.main", *args]


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    environment.pop("PERDURE_DB", None)
    return subprocess.run(
        perdure_command(*args), cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )


def last_json(stdout: str) -> dict[str, Any]:
    return json.loads(stdout.strip().splitlines()[-1])
