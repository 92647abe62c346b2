"""No import cycle inside perdure/sdk or perdure/cli, lazy and TYPE_CHECKING imports included.

A cycle means a seam is missing (the template, a protocol, a module of its own): the
modules of a package must form a directed acyclic graph, read from the source with `ast`
(the same reader as the layering test). An import of a name from a module counts as an
import of that module; a function-level import or one under `if TYPE_CHECKING:` counts too.
"""

from __future__ import annotations

import pytest
from test_layering import PACKAGE, imports_of, module_name


def import_graph(subpackage: str) -> dict[str, set[str]]:
    """module -> the modules of `subpackage` it imports."""
    modules = {module_name(path): path for path in (PACKAGE / subpackage).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for found in imports_of(path):
            target = found.module
            while target and target not in modules:  # `a.b.Name` -> `a.b`
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path `[a, b, ..., a]`, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


@pytest.mark.parametrize("subpackage", ["sdk", "cli"])
def test_no_import_cycle(subpackage: str) -> None:
    cycle = find_cycle(import_graph(subpackage))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
