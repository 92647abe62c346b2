"""3-14: a child context serdes that stores its result upper-cased, as plain text."""

from __future__ import annotations

from perdure import AsyncDurableContext, ChildConfig, SerDes, SerDesContext, durable_execution


class ShoutingText(SerDes[str]):
    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        return value.upper()

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        return data


@durable_execution
async def handler(event: str, context: AsyncDurableContext) -> str:
    async def body(child: AsyncDurableContext) -> str:
        return await child.step(lambda _: event)

    return await context.run_in_child_context(
        body,
        name="shouting_child",
        config=ChildConfig(serdes=ShoutingText()),
    )
