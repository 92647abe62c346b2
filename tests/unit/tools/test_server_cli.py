"""`perdure serve` arguments (no server started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perdure.cli.commands import CommandError, parse_function
from perdure.cli.main import build_parser


def test_defaults_bind_loopback_on_9000():
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.db, args.memory, args.skip_time, args.isolation) == (
        "127.0.0.1",
        9000,
        None,
        False,
        False,
        "inprocess",
    )
    assert args.function == [] and args.sync_timeout == 50 and not args.verbose


def test_functions_repeat_and_db_excludes_memory(capsys):
    args = build_parser().parse_args(
        ["serve", "--function", "a=x.py:h", "--function", "m.mod:h", "--port", "0"]
    )
    assert args.function == ["a=x.py:h", "m.mod:h"] and args.port == 0
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--db", "x.db", "--memory"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_parse_function(tmp_path: Path):
    flow = tmp_path / "flow.py"
    flow.write_text("def handler(event, context):\n    return event\n")
    name, target = parse_function(f"orders={flow}:handler")
    assert name == "orders" and target.module == str(flow) and target.function == "handler"
    name, target = parse_function(f"{flow}:handler")
    assert name == "flow-handler"
    name, target = parse_function("pkg.mod:handler")
    assert (name, target.is_file) == ("mod-handler", False)
    for spec, message in [
        ("bad name=pkg.mod:h", "must be 1-64 characters"),
        (f"orders={tmp_path}/missing.py:handler", "no such file"),
        ("orders=nocolon", "must be 'path/file.py:function'"),
    ]:
        with pytest.raises(CommandError, match=message):
            parse_function(spec)
