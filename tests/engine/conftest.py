from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The fake invocables live beside the unit tests (package `engine` under tests/unit).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from perdure.engine import Engine


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "perdure.db"


@pytest.fixture
def file_engine(db_path: Path) -> Iterator[Engine]:
    engine = Engine.open(db_path, skip_time=True, workers=2)
    yield engine
    engine.close()
