"""The `perdure` command line: run, list, history, conformance."""
