from __future__ import annotations

from collections.abc import Iterator

import pytest

from perdure.engine import Engine


@pytest.fixture
def engine() -> Iterator[Engine]:
    eng = Engine.in_memory(workers=2)
    yield eng
    eng.close()
