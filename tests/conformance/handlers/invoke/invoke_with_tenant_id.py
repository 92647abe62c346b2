"""5-8: invoke for a tenant; the TenantId shows in ChainedInvokeStarted."""

from __future__ import annotations

import os
from typing import Any

from perdure import DurableContext, InvokeConfig, durable_execution


@durable_execution
def handler(event: dict[str, Any], context: DurableContext) -> Any:
    config: InvokeConfig[Any, Any] = InvokeConfig(tenant_id=event["tenantId"])
    return context.invoke(os.environ["TARGET_FUNCTION_NAME"], event["payload"], config=config)
