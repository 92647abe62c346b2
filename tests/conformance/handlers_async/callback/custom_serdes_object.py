"""4-15: a custom serdes turns the JSON payload into a typed object with a datetime field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from perdure import AsyncDurableContext, CallbackConfig, SerDes, SerDesContext, durable_execution


@dataclass(frozen=True)
class Approval:
    id: str
    message: str
    timestamp: datetime


class ApprovalSerDes(SerDes[Approval]):
    def serialize(self, value: Approval, serdes_context: SerDesContext) -> str:
        return json.dumps(
            {"id": value.id, "message": value.message, "timestamp": value.timestamp.isoformat()}
        )

    def deserialize(self, data: str, serdes_context: SerDesContext) -> Approval:
        raw = json.loads(data)
        when = datetime.fromisoformat(raw["timestamp"].replace("Z", "+00:00"))
        return Approval(id=raw["id"], message=raw["message"], timestamp=when)


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> dict[str, object]:
    callback = await context.create_callback(name=event, config=CallbackConfig(serdes=ApprovalSerDes()))
    approval = await callback.result()
    assert approval is not None
    received = {
        "id": approval.id,
        "message": approval.message,
        "timestamp": int(approval.timestamp.timestamp()),
    }
    return {"received": received}
