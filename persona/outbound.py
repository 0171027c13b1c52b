"""Messages the persona starts itself (reminders, check-ins) and the port adapters send them by.

An adapter implements `Outbound` for its platform; the composition root hands the ports to the
reminder and check-in schedulers. A port either delivers the message or raises `DeliveryError`
(not connected yet, the platform refused): the caller keeps the message and tries again later,
so a reminder is never dropped because a platform was away.

Voice replies pass through here too: `VoiceReplier` turns a delivered reply into audio when the
person talked by voice and asked for it; the adapter posts the audio after the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from persona.types import IncomingMessage, Reply, ReplySink


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


@dataclass(frozen=True, slots=True, kw_only=True)
class SpokenReply:
    """A reply as audio, to post after its text: Ogg/Opus."""

    data: bytes
    filename: str = "voice-reply.ogg"
    content_type: str = "audio/ogg"


class VoiceReplier(Protocol):
    """Implemented by the engine's side; adapters ask it after a reply was delivered as text."""

    async def speak(self, message: IncomingMessage, reply: Reply) -> SpokenReply | None:
        """The reply's audio when `message` came by voice and voice replies are on for its author
        (or its room); None otherwise, or when speech failed (logged; the text reply stands)."""
        ...


class ReplyTap:
    """A `ReplySink` passing everything on and keeping the final reply (to speak it afterwards)."""

    def __init__(self, inner: ReplySink) -> None:
        self._inner = inner
        self.final: Reply | None = None

    async def typing(self) -> None:
        await self._inner.typing()

    async def partial(self, text: str) -> None:
        await self._inner.partial(text)

    async def send(self, reply: Reply) -> None:
        await self._inner.send(reply)
        self.final = reply
