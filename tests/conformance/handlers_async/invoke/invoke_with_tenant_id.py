"""5-8: invoke for a tenant; the TenantId shows in ChainedInvokeStarted."""

from __future__ import annotations

import os
from typing import Any

from perdure import AsyncDurableContext, InvokeConfig, durable_execution


@durable_execution
async def handler(event: dict[str, Any], context: AsyncDurableContext) -> Any:
    config: InvokeConfig[Any, Any] = InvokeConfig(tenant_id=event["tenantId"])
    return await context.invoke(os.environ["TARGET_FUNCTION_NAME"], event["payload"], config=config)
