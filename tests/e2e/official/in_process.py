"""The remote-function cases (`run_cases`) in process on the official SDK 3.0: what
`test_remote_functions.py` compares the same handlers, served by a function host behind
`perdure serve`, with.

    PYTHONPATH=<repo> benchmarks/.peer-venv/bin/python tests/e2e/official/in_process.py

The engine runs in this process with the handlers of `flows/remote_official.py` imported,
each invoked as Lambda invokes it (`HttpLink`: a JSON event; the official SDK's own boto3
client reaches the engine's HTTP API in this process through `AWS_ENDPOINT_URL_LAMBDA`),
with state pages of `SMALL_PAGES`, so most invocations page their state. Prints
{case: outcome} as one JSON document.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/: the e2e package

from e2e.http_links import HttpLink
from e2e.remote_host import OFFICIALS, SMALL_PAGES, run_cases


class ProcessEnvironment:
    """What `HttpLink` asks of pytest's MonkeyPatch, in a process of its own: the changes stay."""

    def setenv(self, name: str, value: str) -> None:
        os.environ[name] = value

    def delenv(self, name: str, raising: bool = True) -> None:
        os.environ.pop(name, None)

    def setattr(self, target: Any, name: str, value: Any) -> None:
        setattr(target, name, value)


def main() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.ERROR)
    link = HttpLink(ProcessEnvironment(), state_page_bytes=SMALL_PAGES)  # type: ignore[arg-type]
    try:
        for name, target in OFFICIALS.items():
            link.register(name, target)
        outcomes = run_cases(link)
    finally:
        link.close()
    print(json.dumps({case: outcome.to_json() for case, outcome in outcomes.items()}))


if __name__ == "__main__":
    main()
