"""3-14: a child context serdes that stores its result upper-cased, as plain text."""

from __future__ import annotations

from perdure import ChildConfig, DurableContext, SerDes, SerDesContext, durable_execution


class ShoutingText(SerDes[str]):
    def serialize(self, value: str, serdes_context: SerDesContext) -> str:
        return value.upper()

    def deserialize(self, data: str, serdes_context: SerDesContext) -> str:
        return data


@durable_execution
def handler(event: str, context: DurableContext) -> str:
    return context.run_in_child_context(
        lambda child: child.step(lambda _: event),
        name="shouting_child",
        config=ChildConfig(serdes=ShoutingText()),
    )
