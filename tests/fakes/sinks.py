"""A `ReplySink` that records what an adapter would have shown."""

from __future__ import annotations

import asyncio

from persona.types import Reply


class RecordingSink:
    def __init__(self) -> None:
        self.typing_calls = 0
        self.partials: list[str] = []
        self.sent: list[Reply] = []
        self.delivered = asyncio.Event()

    async def typing(self) -> None:
        self.typing_calls += 1

    async def partial(self, text: str) -> None:
        self.partials.append(text)

    async def send(self, reply: Reply) -> None:
        self.sent.append(reply)
        self.delivered.set()

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.sent]
