"""The conformance report: one entry per selected id, written as JSON.

`{"results": [{"id": "1-1", "status": "PASSED", "detail": "..."}]}`; statuses are PASSED,
FAILED (detail: the first mismatch), OPTIONAL_FAILED (an `optional: true` requirement that
failed; it never fails the run) and NOT_IMPLEMENTED (detail: the reason).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Status(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    OPTIONAL_FAILED = "OPTIONAL_FAILED"
    NOT_IMPLEMENTED = "NOT_IMPLEMENTED"


@dataclass(frozen=True)
class Outcome:
    id: str
    status: Status
    detail: str = ""
    description: str = ""
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status.value,
            "detail": self.detail,
            "description": self.description,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Report:
    results: list[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.results.append(outcome)

    @property
    def failed(self) -> list[Outcome]:
        return [r for r in self.results if r.status is Status.FAILED]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_json(self) -> dict[str, object]:
        counts = Counter(r.status.value for r in self.results)
        return {"results": [r.to_json() for r in self.results], "summary": dict(sorted(counts.items()))}

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    def summary_line(self) -> str:
        counts = Counter(r.status.value for r in self.results)
        parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        return f"{len(self.results)} requirements: {parts or 'none selected'}"
