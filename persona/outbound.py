"""Messages the persona starts itself (reminders, check-ins) and the port adapters send them by.

An adapter implements `Outbound` for its platform; the composition root hands the ports to the
reminder and check-in schedulers. A port either delivers the message or raises `DeliveryError`
(not connected yet, the platform refused): the caller keeps the message and tries again later,
so a reminder is never dropped because a platform was away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class DeliveryError(Exception):
    """The message did not reach the platform; nothing was shown, so it may be sent again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundMessage:
    platform: str
    room_id: str  # the DM or room to post in
    thread_id: str | None = None
    recipient_id: str  # platform user id it is for (mentioned in a room)
    is_dm: bool
    text: str  # Markdown


@runtime_checkable
class Outbound(Protocol):
    """One platform's way to post a message nobody just asked for."""

    platform: str

    async def deliver(self, message: OutboundMessage) -> None:
        """Post `message`, or raise `DeliveryError`."""
        ...
