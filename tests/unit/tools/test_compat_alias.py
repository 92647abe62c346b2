"""The official-SDK import alias (`perdure.compat`)."""

from __future__ import annotations

import importlib
import sys

import pytest

import perdure
from perdure import compat


@pytest.fixture
def alias():
    compat.install()
    yield
    compat.uninstall()


def test_install_is_idempotent(alias):
    compat.install()
    assert sum(isinstance(f, compat.AliasFinder) for f in sys.meta_path) == 1
    assert compat.is_installed()


def test_official_submodules_resolve_to_perdure_objects(alias):
    from aws_durable_execution_sdk_python.config import Duration, StepConfig  # type: ignore[import-not-found]
    from aws_durable_execution_sdk_python.exceptions import CallbackError  # type: ignore[import-not-found]
    from aws_durable_execution_sdk_python.serdes import JsonSerDes, SerDes  # type: ignore[import-not-found]

    assert StepConfig is perdure.StepConfig
    assert Duration is perdure.Duration
    assert CallbackError is perdure.CallbackError
    assert JsonSerDes is perdure.JsonSerDes and SerDes is perdure.SerDes


def test_nested_package_and_top_level(alias):
    models = importlib.import_module("aws_durable_execution_sdk_python.concurrency.models")
    top = importlib.import_module("aws_durable_execution_sdk_python")
    assert top.durable_execution is perdure.durable_execution
    assert models.__name__ == "aws_durable_execution_sdk_python.concurrency.models"


def test_missing_name_is_an_attribute_error(alias):
    config = importlib.import_module("aws_durable_execution_sdk_python.config")
    with pytest.raises(AttributeError, match="perdure does not provide it"):
        _ = config.NoSuchThing


def test_uninstall_forgets_aliases():
    compat.install()
    importlib.import_module("aws_durable_execution_sdk_python.config")
    compat.uninstall()
    assert not compat.is_installed()
    assert "aws_durable_execution_sdk_python.config" not in sys.modules
