"""Voice replies: a reply to a voice message is also spoken, where the person or room opted in.

Only a message that came with a transcribed audio attachment is answered by voice, and only when
`voice on` was chosen by its author (in a DM) or for its room. The text reply is always sent
first; a failing speech provider is logged and the voice part is left out, so the person sees
the answer once and no second error.
"""

from __future__ import annotations

import logging
from typing import Protocol

from memory.assistant import VoiceChoices
from persona.outbound import SpokenReply
from persona.providers.base import ProviderError
from persona.types import IncomingMessage, Reply

_log = logging.getLogger(__name__)


class Speaker(Protocol):
    async def synthesize(self, text: str) -> bytes: ...


def person_key(identity: str) -> str:
    return f"person:{identity}"


def room_key(platform: str, room_id: str) -> str:
    return f"room:{platform}:{room_id}"


def came_by_voice(message: IncomingMessage) -> bool:
    return any(a.kind == "audio" and a.text for a in message.attachments)


class VoiceReplies:
    """Implements `persona.outbound.VoiceReplier`."""

    def __init__(self, *, choices: VoiceChoices, speaker: Speaker) -> None:
        self._choices = choices
        self._speaker = speaker
        self.spoken = 0
        self.failed = 0

    async def wanted(self, message: IncomingMessage) -> bool:
        if await self._choices.get(person_key(message.identity)):
            return True
        return not message.is_dm and bool(
            await self._choices.get(room_key(message.platform, message.room_id))
        )

    async def speak(self, message: IncomingMessage, reply: Reply) -> SpokenReply | None:
        if reply.is_error or not reply.text.strip() or not came_by_voice(message):
            return None
        if not await self.wanted(message):
            return None
        try:
            data = await self._speaker.synthesize(reply.text)
        except ProviderError as error:
            self.failed += 1
            _log.warning("voice reply to %s left out: %s", message.event_id, error)
            return None
        self.spoken += 1
        return SpokenReply(data=data)
