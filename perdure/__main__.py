"""`python -m perdure`: the `perdure` command line (see `perdure.cli.main`)."""

from __future__ import annotations

import sys

from perdure.cli.main import main

sys.exit(main())
