"""perdure: durable execution for Python."""
