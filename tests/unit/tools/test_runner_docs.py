"""Every Python example in docs/testing.md runs as written (so the page stays true)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "testing.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_page_has_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_example_runs(index: int) -> None:
    code = compile(EXAMPLES[index], f"{DOC.name} example {index + 1}", "exec")
    exec(code, {"__name__": f"docs_testing_example_{index}"})
