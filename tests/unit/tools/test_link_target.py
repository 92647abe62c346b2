"""Target parsing and loading (`path/file.py:func`, `package.module:func`)."""

from __future__ import annotations

import os
import sys

import pytest

from perdure.link.target import Target, TargetError, load_target


def test_parse_file_and_module_targets(tmp_path):
    file_target = Target.parse(f"{tmp_path}/flow.py:handler")
    assert file_target.is_file and file_target.function == "handler"
    module_target = Target.parse("json:dumps")
    assert not module_target.is_file and module_target.module == "json"
    assert module_target.function_name == "json-dumps"


@pytest.mark.parametrize("text", ["nofunction", "file.py:", ":func", "a.py:not a name"])
def test_bad_targets_are_refused(text):
    with pytest.raises(TargetError):
        Target.parse(text)


def test_load_file_from_another_folder_with_sibling_import(tmp_path, monkeypatch):
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "helper_mod_xyz.py").write_text("VALUE = 41\n")
    (folder / "flow.py").write_text(
        "import helper_mod_xyz\n\ndef handler(e, c):\n    return helper_mod_xyz.VALUE + 1\n"
    )
    monkeypatch.chdir(os.path.dirname(__file__))
    assert load_target(f"{folder}/flow.py:handler")(None, None) == 42


def test_load_module_target():
    assert load_target("json:dumps")([1]) == "[1]"


def test_missing_file_module_and_attribute(tmp_path):
    with pytest.raises(TargetError, match="no such file"):
        load_target(f"{tmp_path}/absent.py:handler")
    with pytest.raises(TargetError, match="cannot import module"):
        load_target("no_such_module_abc:handler")
    (tmp_path / "f.py").write_text("x = 1\n")
    with pytest.raises(TargetError, match="has no attribute"):
        load_target(f"{tmp_path}/f.py:handler")
    with pytest.raises(TargetError, match="not callable"):
        load_target(f"{tmp_path}/f.py:x")


def test_a_file_named_like_a_standard_library_module_never_shadows_it(tmp_path):
    import queue

    (tmp_path / "queue.py").write_text("def handler(e, c):\n    return __name__\n")
    name = load_target(f"{tmp_path}/queue.py:handler")(None, None)
    assert name.startswith("_perdure_target_queue_")
    assert sys.modules["queue"] is queue
    assert not Target.parse(f"{tmp_path}/queue.py:handler").is_module_name_held_by_another_file()


def test_a_host_and_port_given_as_a_target_is_pointed_at_its_url():
    with pytest.raises(
        TargetError, match=r"is a host and a port.*given by its URL, http://127\.0\.0\.1:8081"
    ):
        Target.parse("127.0.0.1:8081")
