"""`perdure serve` arguments (no server started)."""

from __future__ import annotations

import logging
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


def test_security_options_and_their_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PERDURE_ACCESS_KEY_ID", "AKIDENV")
    monkeypatch.setenv("PERDURE_SECRET_ACCESS_KEY", "secret-env")
    args = build_parser().parse_args(["serve", "--allow-host", "a.internal", "--allow-host", "b.internal"])
    assert args.allow_host == ["a.internal", "b.internal"]
    assert (args.access_key_id, args.secret_access_key) == ("AKIDENV", "secret-env")
    assert (args.idle_timeout, args.body_timeout) == (15, 60)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--host", "0.0.0.0"], "listening on 0.0.0.0 (beyond this machine) needs credentials"),
        (["--host", "::"], "needs credentials to check request signatures: give --access-key-id"),
        (["--access-key-id", "AKID"], "--access-key-id and --secret-access-key go together"),
        (["--idle-timeout", "0"], "--idle-timeout must be > 0"),
    ],
)
def test_refusals_are_one_line_errors_before_anything_opens(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
):
    from perdure.cli.main import main

    monkeypatch.delenv("PERDURE_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("PERDURE_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["serve", "--port", "0", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / ".perdure").exists()  # no store was opened


def test_without_the_server_extra_serve_names_the_install_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    import sys

    import perdure.server
    from perdure.cli.main import main

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "perdure.server.http", None)
    monkeypatch.delattr(perdure.server, "http", raising=False)
    assert main(["serve", "--memory", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err == "perdure: error: perdure serve needs the server extra: pip install 'perdure[server]'\n"


def test_the_server_keeps_uvicorns_own_lines_out_of_the_output(caplog: pytest.LogCaptureFixture) -> None:
    """`perdure run` with remote functions serves the API beside its progress lines: uvicorn's
    INFO lines (started, shutting down) must not appear; its warnings and errors would."""
    from perdure.engine import Engine
    from perdure.server import EngineHost

    caplog.set_level(logging.INFO)
    engine = Engine.in_memory()
    try:
        host = EngineHost(engine, port=0)
        host.start()
        host.stop()
    finally:
        engine.close()
    uvicorn_lines = [r for r in caplog.records if r.name.startswith("uvicorn")]
    assert not [r.getMessage() for r in uvicorn_lines if r.levelno < logging.WARNING]
    assert logging.getLogger("uvicorn.error").isEnabledFor(logging.WARNING)
