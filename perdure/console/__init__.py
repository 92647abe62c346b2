"""The web console: executions, a timeline of each, live updates, and actions, in a browser.

`perdure serve` serves it at `/`; `perdure console --db PATH` serves it for a database
file with no server running. `Console` answers the console's routes (`app.py`),
`data.py` shapes what its pages show, `static/` is the page itself. A tool: it imports
`perdure.engine`, `perdure.server` and `perdure.wire`; nothing imports it but other tools.
"""

from __future__ import annotations

from .app import COOKIE, Console, ConsoleAuth, console_url, new_token

__all__ = ["COOKIE", "Console", "ConsoleAuth", "console_url", "new_token"]
