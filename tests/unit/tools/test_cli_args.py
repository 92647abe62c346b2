"""CLI argument handling and rendering (in-process, no subprocess)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from perdure import DurableContext, durable_execution
from perdure.cli import commands, render
from perdure.cli.main import build_parser, main
from perdure.testing import DurableTestRunner


def test_run_arguments_and_defaults():
    args = build_parser().parse_args(["run", "f.py:handler"])
    assert (args.input, args.name, args.db, args.memory, args.skip_time, args.isolation, args.json) == (
        None,
        None,
        None,
        False,
        False,
        "inprocess",
        False,
    )
    args = build_parser().parse_args(
        ["run", "m:h", "--memory", "--isolation", "process", "--json", "--skip-time"]
    )
    assert args.memory and args.isolation == "process" and args.json and args.skip_time


def test_db_and_memory_are_exclusive(capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["run", "f.py:h", "--db", "x.db", "--memory"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_input_is_canonical_json():
    assert commands._parse_input('{"a":1}') == commands._parse_input('{ "a": 1 }') == '{"a": 1}'
    assert commands._parse_input(None) == "null"
    with pytest.raises(commands.CommandError, match="--input is not valid JSON"):
        commands._parse_input("{oops")


def test_bad_target_is_one_line(capsys):
    assert main(["run", "no-colon-here", "--memory"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("perdure: error:") and err.count("\n") == 1


def test_run_in_process_json(tmp_path, capsys):
    flow = tmp_path / "flow.py"
    flow.write_text(
        "from perdure import durable_execution\n\n"
        "@durable_execution\n"
        "def handler(event, context):\n"
        "    return context.step(lambda _: {'echo': event}, name='echo')\n"
    )
    assert (
        main(["run", f"{flow}:handler", "--input", '{"k": [1, 2]}', "--memory", "--skip-time", "--json"]) == 0
    )
    outcome = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert outcome["result"] == {"echo": {"k": [1, 2]}} and outcome["invocations"] == 1


def test_plain_handler_is_wrapped(capsys):
    from pathlib import Path

    flow = Path(__file__).parents[2] / "e2e" / "flows" / "plain_handler.py"
    assert main(["run", f"{flow}:handler", "--input", "5", "--memory", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["result"] == 15


def test_conformance_needs_folders(tmp_path, capsys):
    argv = [
        "conformance",
        "--requirements",
        str(tmp_path / "no"),
        "--handlers",
        str(tmp_path),
        "--mapping",
        "m.json",
    ]
    assert main(argv) == 2
    assert "not a directory" in capsys.readouterr().err


def test_tables():
    text = render.table(["A", "BB"], [["1", "2"], ["333", "4"]])
    assert text.splitlines() == ["A    BB", "---  --", "1    2", "333  4"]
    assert render.execution_table([]) == "no executions"
    summary = render.run_summary(
        {
            "execution_arn": "arn:x",
            "status": "FAILED",
            "result": None,
            "error": {"ErrorType": "E", "ErrorMessage": "m"},
            "invocations": 2,
        }
    )
    assert "error      E: m" in summary and "invocations 2" in summary


@pytest.mark.parametrize(
    ("argv", "usage", "hint"),
    [
        (["run", "x.py:f", "--inptu", "{}"], "usage: perdure run ", "--inptu: did you mean --input?"),
        (["callback", "succeed", "--reslt=1"], "usage: perdure callback ", "--reslt: did you mean --result?"),
        (["history", "e-1", "stray"], "usage: perdure history ", None),
    ],
)
def test_a_mistyped_argument_shows_the_commands_usage_and_the_closest_option(capsys, argv, usage, hint):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage)
    assert f"perdure {argv[0]}: error: unrecognized arguments: {' '.join(argv[2:])}" in err
    assert (hint in err) if hint else "did you mean" not in err


@durable_execution
def answered(event: Any, context: DurableContext) -> Any:
    return context.create_callback(name="approval").result()


def test_history_omits_the_result_of_a_callback_succeeded_without_one():
    with DurableTestRunner.start_time_skipping() as runner:
        state = runner.run_until_suspended(answered)
        runner.send_callback_success(runner.callback_id(state.execution_arn, "approval"), None)
        result = runner.wait_for_result(state.execution_arn)
    (succeeded,) = [e for e in result.history if e.event_type.value == "CallbackSucceeded"]
    row = render.history_line(succeeded)
    assert "Truncated" not in row and "Result" not in row
