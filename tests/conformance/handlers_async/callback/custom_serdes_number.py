"""4-16: a custom serdes turns the callback payload into a number."""

from __future__ import annotations

from perdure import AsyncDurableContext, CallbackConfig, SerDes, SerDesContext, durable_execution


class NumberSerDes(SerDes[int]):
    def serialize(self, value: int, serdes_context: SerDesContext) -> str:
        return str(value)

    def deserialize(self, data: str, serdes_context: SerDesContext) -> int:
        return int(data)


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> dict[str, int]:
    callback = await context.create_callback(name=event, config=CallbackConfig(serdes=NumberSerDes()))
    count = await callback.result()
    assert count is not None
    return {"count": count, "doubled": count * 2}
