"""Fixtures for the console's tests: an engine served over HTTP with the console, boto3,
and headless Chromium (Debian's `chromium`, driven by Playwright; never downloaded)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from perdure.engine import Engine
from perdure.link.inprocess import InProcessInvocable
from perdure.server import Credentials, EngineHost

from . import flows

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FUNCTIONS = ["approval", "big_map", "fanout", "first_wins", "gated", "instant", "many"]
"""The flows every test server registers (sorted)."""
DOCS_IMAGES = Path(__file__).resolve().parent.parent.parent / "docs" / "img"
IMAGES = (
    DOCS_IMAGES
    if os.environ.get("PERDURE_SCREENSHOTS") == "docs"
    else Path(tempfile.gettempdir()) / "perdure-console"
)
"""Where the browser tests write their screenshots: docs/img with `make screenshots`
(`PERDURE_SCREENSHOTS=docs`), else a temporary folder, so a test run leaves the tree as it was."""


class Served:
    def __init__(self, host: EngineHost) -> None:
        self.host = host
        self.engine = host.engine
        self.url = host.url

    def client(self, key: str = "x", secret: str = "x") -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "lambda",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(retries={"max_attempts": 1}, read_timeout=60),
        )


def serve(tmp_path: Path, *, skip_time: bool, credentials: Credentials | None = None) -> Iterator[Served]:
    engine = Engine.open(tmp_path / "console.db", skip_time=skip_time)
    for name in FUNCTIONS:
        engine.register_function(name, InProcessInvocable(getattr(flows, name), engine.service))
    host = EngineHost(engine, port=0, credentials=credentials, console_token="test-console-token-0123")
    host.start()
    try:
        yield Served(host)
    finally:
        flows.GATE.set()
        host.stop()
        engine.close()
        flows.GATE.clear()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path, skip_time=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make browsers` (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    try:
        yield opened
    finally:
        context.close()
