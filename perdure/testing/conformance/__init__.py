"""The conformance runner: AWS durable-execution conformance requirements against perdure.

Pure parts (`placeholders`, `history`, `checks`, `requirement`, `report`, `driver`) need
no engine; `runner` wires them to a time-skipping `Engine` and the link.
"""

from __future__ import annotations

from .report import Outcome, Report, Status

__all__ = ["Outcome", "Report", "Status"]
