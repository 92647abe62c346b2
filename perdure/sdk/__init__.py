"""The perdure SDK: everything user code touches (context, operations, serdes, retries).

Imports only `perdure.wire` and the standard library; never the engine or the tools.
"""
