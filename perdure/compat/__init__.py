"""Run code written for the official AWS Durable Execution SDK on perdure, unchanged.

`install()` puts a meta-path finder first on `sys.meta_path` that answers every import of
`aws_durable_execution_sdk_python` and its submodules (`.config`, `.context`,
`.execution`, `.retries`, `.waits`, `.serdes`, `.exceptions`, `.types`,
`.concurrency.models`, `.plugin`, `.lambda_service`, ...) with an alias module. An alias
module has no objects of its own: each attribute is looked up on the perdure module that
corresponds to the official one, then on the top-level `perdure` package, which
re-exports the whole public API. So `isinstance` and `except CallbackError` see perdure's
own classes. `perdure run` and the conformance runner install it.
"""

from __future__ import annotations

from ._alias import OFFICIAL_PACKAGE, AliasFinder, install, is_installed, uninstall

__all__ = ["OFFICIAL_PACKAGE", "AliasFinder", "install", "is_installed", "uninstall"]
