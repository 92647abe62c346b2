"""Loading requirement YAML files (PyYAML is imported lazily: it is an optional extra).

Files live at `<requirements>/<suite>/<id>.yaml`; the id is the file's stem (`1-1`).
Selection patterns (`--only 8-1,9-*`) are shell-style globs over ids.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ID = re.compile(r"^(\d+)-(\d+)$")


class RequirementError(ValueError):
    """A requirement file that cannot be read or has the wrong shape."""


@dataclass(frozen=True)
class Requirement:
    """One requirement: its id, its file and the parsed document."""

    id: str
    path: Path
    data: Mapping[str, Any]

    @property
    def description(self) -> str:
        return str(self.data.get("description") or "")

    @property
    def input(self) -> Any:
        return self.data.get("Input")

    @property
    def variables(self) -> Mapping[str, Any]:
        return self.data.get("Variables") or {}

    @property
    def expected_history(self) -> list[Mapping[str, Any]]:
        return list(self.data.get("ExpectedExecutionHistory") or [])

    @property
    def expected_result(self) -> Mapping[str, Any] | None:
        value = self.data.get("ExpectedResult")
        return value if isinstance(value, Mapping) else None

    @property
    def expected_logs(self) -> list[Mapping[str, Any]]:
        return list(self.data.get("ExpectedLogs") or [])

    @property
    def callback_actions(self) -> list[Mapping[str, Any]]:
        return list(self.data.get("CallbackActions") or [])

    @property
    def is_async(self) -> bool:
        return bool(self.data.get("AsyncInvoke"))

    @property
    def is_optional(self) -> bool:
        return bool(self.data.get("optional"))


def id_sort_key(requirement_id: str) -> tuple[int, int, str]:
    match = _ID.match(requirement_id)
    if match is None:
        return (10**9, 0, requirement_id)
    return (int(match.group(1)), int(match.group(2)), requirement_id)


def _yaml_load(text: str, path: Path) -> Any:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RequirementError(
            "reading conformance requirements needs PyYAML: pip install 'perdure[conformance]'"
        ) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RequirementError(f"{path}: not valid YAML ({exc})") from None


def load_requirement(path: Path) -> Requirement:
    """Parse one requirement file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RequirementError(f"{path}: cannot read ({exc.strerror})") from None
    data = _yaml_load(text, path)
    if not isinstance(data, Mapping):
        raise RequirementError(f"{path}: a requirement must be a mapping")
    if not isinstance(data.get("ExpectedExecutionHistory") or [], list):
        raise RequirementError(f"{path}: ExpectedExecutionHistory must be a list")
    return Requirement(id=path.stem, path=path, data=data)


def discover(root: Path) -> dict[str, Path]:
    """Every `<suite>/<id>.yaml` under `root`, by id."""
    if not root.is_dir():
        raise RequirementError(f"{root}: not a directory")
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.yaml")):
        if _ID.match(path.stem):
            found[path.stem] = path
    return found


def select(ids: Iterable[str], patterns: Sequence[str] | None) -> list[str]:
    """The ids matching any pattern (all ids when no pattern), in suite order."""
    chosen = [
        i
        for i in ids
        if not patterns or any(fnmatch.fnmatchcase(i, p.strip()) for p in patterns if p.strip())
    ]
    return sorted(chosen, key=id_sort_key)
