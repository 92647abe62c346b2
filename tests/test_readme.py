"""The README's first example runs as written: its handler, saved as `shop.py`, and the
`perdure run` command below it (a 24-hour wait ends within the default ExecutionTimeout)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_first_example_runs_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S)
    command = re.search(r"```sh\n(perdure run shop\.py:handler .*?)\n```", readme, re.S)
    assert code is not None and command is not None
    (tmp_path / "shop.py").write_text(code.group(1))
    args = shlex.split(command.group(1))[1:]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PERDURE_DB", None)
    done = subprocess.run(
        [sys.executable, "-m", "perdure.cli.main", *args, "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["status"] == "SUCCEEDED"
    assert outcome["result"]["charge_id"].startswith("ch-")
