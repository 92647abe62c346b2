"""The AWS conformance requirements of suites 1-x to 10-x, on both faces of the SDK.

Each id runs perdure's own handler on a fresh time-skipping engine, on the sync face
(tests/conformance/handlers, mapping.json) over each store (memory, SQLite, PostgreSQL) and
on the async face (handlers_async, mapping_async.json: the same handlers written with
`async def` and `await`) over the memory store (the faces are the SDK's, the stores the
engine's: see `_cases`), and must PASS, unless tests/conformance/exclusions.yaml lists it
with a reason (a key `1-17` excuses both faces, `async:1-17` one face).
`PERDURE_CONFORMANCE_REQUIREMENTS` may point at another requirements folder.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from perdure.cli.main import main
from perdure.engine.store import Store, open_store
from perdure.testing.conformance.report import Status
from perdure.testing.conformance.runner import ConformanceRunner, load_mapping
from tests.postgres import fresh_schema_url, give_back

HERE = Path(__file__).parent
REQUIREMENTS = Path(os.environ.get("PERDURE_CONFORMANCE_REQUIREMENTS", HERE / "requirements"))
HANDLERS = HERE / "handlers"
MAPPING = HERE / "mapping.json"
FACES = {
    "sync": (HANDLERS, MAPPING),
    "async": (HERE / "handlers_async", HERE / "mapping_async.json"),
}
PLUGIN_INSTANCES_MAPPING = HERE / "mapping_plugin_instances.json"
"""Suite 10 again, with handlers that register plugin instances (the shape before 3.0)."""
SUITES = ("1-*", "2-*", "3-*", "4-*", "5-*", "6-*", "7-*", "8-*", "9-*", "10-*")


def _exclusions() -> dict[str, str]:
    data = yaml.safe_load((HERE / "exclusions.yaml").read_text()) or {}
    for key, reason in data.items():
        assert isinstance(reason, str) and reason.strip(), f"exclusion {key} needs a reason"
    return {str(k): str(v) for k, v in data.items()}


@pytest.fixture(scope="module")
def runners() -> dict[str, ConformanceRunner]:
    from perdure.compat import install

    install()
    return {
        face: ConformanceRunner(REQUIREMENTS, handlers, load_mapping(mapping))
        for face, (handlers, mapping) in FACES.items()
    }


def _ids() -> list[str]:
    return ConformanceRunner(REQUIREMENTS, HANDLERS, load_mapping(MAPPING)).select(SUITES)


@pytest.mark.parametrize("face", FACES)
def test_every_id_of_the_suites_is_mapped(face: str) -> None:
    mapping = load_mapping(FACES[face][1])
    assert len(_ids()) == 155
    assert set(_ids()) <= set(mapping)


def test_the_async_mapping_mirrors_the_sync_one() -> None:
    """Same handler file names, functions and isolation (a crashing handler stays in a process)."""
    assert load_mapping(FACES["async"][1]) == load_mapping(MAPPING)


@pytest.mark.parametrize("path", sorted(FACES["async"][0].rglob("*.py")), ids=lambda p: p.stem)
def test_async_handlers_use_the_async_face(path: Path) -> None:
    """An async handler is an `async def` over an `AsyncDurableContext`, never the sync context."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert "DurableContext" not in names, f"{path.name} uses the sync DurableContext"
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        decorators = [d.func if isinstance(d, ast.Call) else d for d in node.decorator_list]
        if any(isinstance(d, ast.Name) and d.id == "durable_execution" for d in decorators):
            assert isinstance(node, ast.AsyncFunctionDef), f"{path.name}: {node.name} is not async def"


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store] | None]:
    """Where each requirement's engine keeps its executions: memory, a SQLite file, or a
    PostgreSQL schema."""
    if request.param == "memory":
        yield None
        return
    if request.param == "sqlite":
        yield lambda: open_store(tmp_path / "perdure.db")
        return
    url = fresh_schema_url(request.getfixturevalue("pg_database"))
    yield lambda: open_store(url)
    give_back(url)


def _cases() -> list[tuple[str, str, str]]:
    """(face, store, requirement) triples: every requirement on both faces over memory, and
    every requirement on the sync face over SQLite and PostgreSQL."""
    ids = _ids()
    return [(face, "memory", i) for face in FACES for i in ids] + [
        ("sync", kind, i) for kind in ("sqlite", "postgres") for i in ids
    ]


@pytest.mark.parametrize(("face", "store", "requirement_id"), _cases(), indirect=["store"])
def test_requirement(
    runners: dict[str, ConformanceRunner], face: str, store: Callable[[], Store] | None, requirement_id: str
) -> None:
    runner = runners[face]
    runner.store = store
    outcome = runner.run_one(requirement_id)
    exclusions = _exclusions()
    excluded = exclusions.get(f"{face}:{requirement_id}", exclusions.get(requirement_id))
    if excluded is not None:
        pytest.xfail(f"{requirement_id} ({face}): {excluded}")
    assert outcome.status is Status.PASSED, f"{requirement_id} ({face}) {outcome.status}: {outcome.detail}"


@pytest.mark.parametrize("requirement_id", [f"10-{n}" for n in range(1, 8)])
def test_plugin_requirement_with_plugin_instances(requirement_id: str) -> None:
    mapping = load_mapping(PLUGIN_INSTANCES_MAPPING)
    assert mapping[requirement_id]["handler"].startswith("plugin_instances/")
    outcome = ConformanceRunner(REQUIREMENTS, HANDLERS, mapping).run_one(requirement_id)
    assert outcome.status is Status.PASSED, f"{requirement_id} {outcome.status}: {outcome.detail}"


@pytest.mark.parametrize("isolation", ["process", "in-process"])
@pytest.mark.parametrize("requirement_id", ["1-17", "1-18", "3-12"])
def test_a_handler_that_exits_its_interpreter_is_a_crashed_invocation_in_either_isolation(
    requirement_id: str, isolation: str
) -> None:
    # These handlers call os._exit; the requirements expect InvocationCompleted with
    # Runtime.ExitError, then a replay. In process, the runner itself must survive it.
    mapping = load_mapping(MAPPING)
    entry = {key: value for key, value in mapping[requirement_id].items() if key != "isolation"}
    if isolation == "process":
        entry["isolation"] = "process"
    outcome = ConformanceRunner(REQUIREMENTS, HANDLERS, {requirement_id: entry}).run_one(requirement_id)
    assert outcome.status is Status.PASSED, f"{requirement_id} {outcome.status}: {outcome.detail}"


def test_cli_report_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report.json"
    argv = ["conformance", "--requirements", str(REQUIREMENTS), "--handlers", str(HANDLERS)]
    argv += ["--mapping", str(MAPPING), "--only", "1-1,2-*", "--report", str(report)]
    assert main(argv) == 0
    results = json.loads(report.read_text())["results"]
    assert [r["id"] for r in results] == ["1-1", "2-1", "2-2", "2-3", "2-4", "2-5"]
    assert {r["status"] for r in results} == {"PASSED"}
    assert "6 requirements: 6 PASSED" in capsys.readouterr().out


def test_cli_fails_when_an_id_fails(tmp_path: Path) -> None:
    mapping = load_mapping(MAPPING)
    mapping["1-2"] = mapping["1-1"]  # the wrong handler: no step name
    mapping["4-1"] = {"handler": "step/greet_once.py", "not_implemented": "callbacks come later"}
    bad = tmp_path / "mapping.json"
    bad.write_text(json.dumps(mapping))
    report = tmp_path / "report.json"
    argv = ["conformance", "--requirements", str(REQUIREMENTS), "--handlers", str(HANDLERS)]
    assert main([*argv, "--mapping", str(bad), "--only", "1-2,4-1", "--report", str(report)]) == 1
    results = {r["id"]: r for r in json.loads(report.read_text())["results"]}
    assert results["1-2"]["status"] == "FAILED"
    assert "Event[2].Name: expected 'custom_step_name'" in results["1-2"]["detail"]
    assert results["4-1"] == {**results["4-1"], "status": "NOT_IMPLEMENTED", "detail": "callbacks come later"}


def test_cli_rejects_a_bad_mapping(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "mapping.json"
    bad.write_text("{not json")
    argv = [
        "conformance",
        "--requirements",
        str(REQUIREMENTS),
        "--handlers",
        str(HANDLERS),
        "--mapping",
        str(bad),
    ]
    assert main(argv) == 2
    assert "not valid JSON" in capsys.readouterr().err
