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

import pytest

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


def _user_documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]


def test_the_readme_introduces_the_test_runner_and_links_its_page() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "DurableTestRunner" in readme and "perdure_runner" in readme
    assert "](docs/testing.md)" in readme


def test_user_documents_link_only_to_files_in_the_repository() -> None:
    """Every relative link (and its #anchor) resolves inside the repository, and no page
    points at notes kept outside it."""
    for page in _user_documents():
        text = page.read_text()
        assert not re.search(r"\b(DECISIONS|shared/spec|shared/research|research/0\d)", text), page
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            assert resolved.is_relative_to(ROOT) and resolved.exists(), f"{page.name}: {target}"
            if anchor and resolved.suffix == ".md":
                assert anchor in _anchors(resolved.read_text()), f"{page.name}: {target}"


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+\s+(.*)$", markdown, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


_OUTSIDE = re.compile(r"/work/shared|\b(DECISIONS|shared/spec|shared/research|research/0\d)\b")


def test_no_tracked_file_points_at_notes_kept_outside_the_repository() -> None:
    """Code, tests, examples and benchmarks, not only the user documents, state facts
    themselves instead of pointing at files a clone of the repository does not have."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    offenders = []
    for name in listed.stdout.splitlines():
        path = ROOT / name
        if path.suffix not in {
            ".py",
            ".md",
            ".toml",
            ".json",
            ".yaml",
            ".yml",
            ".js",
            ".ts",
            ".html",
            ".css",
        }:
            continue
        if name == "tests/test_readme.py" or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if _OUTSIDE.search(line):
                offenders.append(f"{name}:{number}: {line.strip()[:100]}")
    assert not offenders, "\n".join(offenders)
