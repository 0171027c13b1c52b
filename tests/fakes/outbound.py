"""An `Outbound` port that records what it posted, and can be switched off like a lost connection."""

from __future__ import annotations

import asyncio

from persona.outbound import DeliveryError, OutboundMessage


class RecordingOutbound:
    def __init__(self, platform: str = "discord") -> None:
        self.platform = platform
        self.posted: list[OutboundMessage] = []
        self.connected = True
        self.changed = asyncio.Event()

    async def deliver(self, message: OutboundMessage) -> None:
        if not self.connected:
            raise DeliveryError("not connected")
        self.posted.append(message)
        self.changed.set()

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self.posted]
