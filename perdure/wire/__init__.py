"""The wire contract between the SDK and any durable-execution service.

Value types named after the AWS Lambda durable-execution API (2025-12-01), the one codec
that turns them into the service's JSON and back, the service Protocols, the service
errors and the limits. Standard library only; imports nothing else from perdure.
"""
