"""4-16: a custom serdes turns the callback payload into a number."""

from __future__ import annotations

from perdure import CallbackConfig, DurableContext, SerDes, SerDesContext, durable_execution


class NumberSerDes(SerDes[int]):
    def serialize(self, value: int, serdes_context: SerDesContext) -> str:
        return str(value)

    def deserialize(self, data: str, serdes_context: SerDesContext) -> int:
        return int(data)


@durable_execution
def handler(event: str, context: DurableContext) -> dict[str, int]:
    count = context.create_callback(name=event, config=CallbackConfig(serdes=NumberSerDes())).result()
    assert count is not None
    return {"count": count, "doubled": count * 2}
