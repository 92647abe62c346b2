"""Handler files are imported as the Lambda Python runtime imports them: named after the file.

So what a handler records names its module as Lambda and the official SDK name it
(`docflow.TransientOCRError`), through `perdure run` (in process and in a worker process)
and the test runner; and two files with one name in one process are both correct.
"""

from __future__ import annotations

import json
import logging
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from perdure.testing import DurableTestRunner

DOCFLOW = """
import logging
import pickle
from dataclasses import dataclass

from perdure import DurableContext, RetryPresets, StepConfig, durable_execution

logger = logging.getLogger(__name__)


class TransientOCRError(Exception):
    pass


@dataclass
class Page:
    number: int


@durable_execution
def handler(event, ctx: DurableContext):
    def ocr(_):
        raise TransientOCRError("page 3 unreadable")

    pickled = ctx.step(lambda _: pickle.dumps(Page(3)).hex(), name="pickle")
    assert pickle.loads(bytes.fromhex(pickled)) == Page(3)
    try:
        ctx.step(ocr, name="ocr", config=StepConfig(retry_strategy=RetryPresets.none()))
    except Exception:
        logger.warning("ocr failed")
    raise TransientOCRError("gave up")
"""


@pytest.fixture
def docflow(tmp_path: Path) -> Iterator[Path]:
    """`docflow.py` in a fresh folder, with the name `docflow` free in this process."""
    path = tmp_path / "flows" / "docflow.py"
    path.parent.mkdir()
    path.write_text(DOCFLOW)
    saved_path = list(sys.path)
    names = [name for name in sys.modules if name == "docflow" or name.startswith("_perdure_target_docflow")]
    for name in names:
        del sys.modules[name]
    yield path
    sys.path[:] = saved_path
    for name in [
        name for name in sys.modules if name == "docflow" or name.startswith("_perdure_target_docflow")
    ]:
        del sys.modules[name]


def test_the_test_runner_records_lambda_module_names(docflow: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), DurableTestRunner.start_time_skipping() as runner:
        result = runner.run(f"{docflow}:handler")
    assert result.status == "FAILED"
    assert result.error is not None and result.error.error_type == "docflow.TransientOCRError"
    ocr = result.operation("ocr").error
    assert ocr is not None and ocr.error_type == "docflow.TransientOCRError"
    pickled = bytes.fromhex(result.operation("pickle").result)
    assert b"docflow" in pickled and b"_perdure_target" not in pickled
    assert [record.name for record in caplog.records if record.getMessage() == "ocr failed"] == ["docflow"]


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_perdure_run_records_lambda_module_names(docflow: Path, isolation: str, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "perdure.cli.main", "run", f"{docflow}:handler", "--memory"]
    done = subprocess.run(
        [*command, "--skip-time", "--json", "--isolation", isolation],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome["status"] == "FAILED", done.stderr[-2000:]
    assert outcome["error"] == {"ErrorMessage": "gave up", "ErrorType": "docflow.TransientOCRError"}


def test_a_second_file_with_the_same_name_gets_a_private_module_and_both_stay_correct(
    docflow: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = tmp_path / "other" / "docflow.py"
    other.parent.mkdir()
    other.write_text(DOCFLOW.replace('"gave up"', '"other gave up"'))
    with caplog.at_level(logging.WARNING), DurableTestRunner.start_time_skipping() as runner:
        first = runner.run(f"{docflow}:handler")
        second = runner.run(f"{other}:handler")
    assert first.error is not None and first.error.error_type == "docflow.TransientOCRError"
    assert second.error is not None and second.error.error_message == "other gave up"
    private = second.error.error_type
    assert private.startswith("_perdure_target_docflow_") and private.endswith(".TransientOCRError")
    assert sys.modules["docflow"].__file__ == str(docflow)
    assert any("module name 'docflow' is taken" in record.getMessage() for record in caplog.records)
    # Each module's pickled values load back through its own name.
    page = sys.modules[private.rsplit(".", 1)[0]].Page(1)
    assert type(pickle.loads(pickle.dumps(page))) is type(page)


def test_a_file_named_like_a_standard_library_module_runs_in_a_worker_process(tmp_path: Path) -> None:
    # It is imported under a private name, with a warning logged while the worker starts.
    (tmp_path / "calendar.py").write_text(
        "import logging\n"
        "from perdure import durable_execution\n"
        "logging.getLogger(__name__).warning('imported')\n"
        "@durable_execution\n"
        "def handler(event, ctx):\n"
        "    return __name__\n"
    )
    command = [sys.executable, "-m", "perdure.cli.main", "run", f"{tmp_path}/calendar.py:handler", "--memory"]
    done = subprocess.run(
        [*command, "--json", "--isolation", "process"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome["status"] == "SUCCEEDED", done.stderr[-2000:]
    assert outcome["result"].startswith("_perdure_target_calendar_")
