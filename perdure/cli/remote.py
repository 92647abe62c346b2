"""`perdure list|history --endpoint URL`: the same views, read from a running `perdure serve`.

Without `--endpoint` each command is the local one in `commands` (it reads the database
file). With it, the data comes over HTTP through `perdure.server.HttpServiceClient`, so
the server's process stays the only one that opens its database.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from perdure.server import HttpServiceClient
from perdure.wire.codec import to_wire
from perdure.wire.errors import ResourceNotFoundError
from perdure.wire.types import (
    Event,
    GetDurableExecutionHistoryRequest,
    ListDurableExecutionsByFunctionRequest,
)

from . import commands, render
from .commands import CommandError

ENDPOINT_HELP = "read from a running `perdure serve` at this URL (e.g. http://127.0.0.1:9000)"


def _client(args: argparse.Namespace) -> HttpServiceClient:
    if args.db is not None:
        raise CommandError("--db and --endpoint are exclusive: the server reads its own database")
    return HttpServiceClient(args.endpoint)


def list_executions(args: argparse.Namespace) -> int:
    if getattr(args, "endpoint", None) is None:
        return commands.list_executions(args)
    client = _client(args)
    if not args.function:
        raise CommandError("--endpoint needs --function: the API lists executions per function")
    rows: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        page = client.list_durable_executions_by_function(
            ListDurableExecutionsByFunctionRequest(function_name=args.function, marker=marker)
        )
        rows.extend(to_wire(e, timestamps="epoch_seconds") for e in page.durable_executions)
        marker = page.next_marker
        if marker is None:
            break
    if args.json:
        print(json.dumps({"DurableExecutions": rows}))
    else:
        print(render.execution_table(rows))
    return 0


def history(args: argparse.Namespace) -> int:
    if getattr(args, "endpoint", None) is None:
        return commands.history(args)
    client = _client(args)
    events: list[Event] = []
    marker: str | None = None
    while True:
        try:
            page = client.get_durable_execution_history(
                GetDurableExecutionHistoryRequest(args.arn, include_execution_data=True, marker=marker)
            )
        except ResourceNotFoundError:
            raise CommandError(f"no execution {args.arn}") from None
        events.extend(page.events)
        marker = page.next_marker
        if marker is None:
            break
    if args.json:
        print(json.dumps({"Events": [to_wire(e, timestamps="epoch_seconds") for e in events]}))
    else:
        print(render.history_table(events))
    return 0
