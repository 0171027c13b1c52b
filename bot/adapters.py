"""Which platform adapters the settings ask for, and the speech-to-text they share."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from adapters.base import Adapter
from adapters.discord.client import DiscordAdapter
from adapters.matrix.client import MatrixAdapter
from bot.config import Settings
from persona.api import Engine
from persona.outbound import VoiceReplier
from persona.providers.base import ProviderError
from persona.providers.speech import OpenAITranscriber

_log = logging.getLogger(__name__)


class NotingTranscriber:
    """A transcriber whose provider failures become a transcript note naming the failure kind.

    The adapters already turn any transcriber exception into a generic "could not be transcribed"
    note; this wrapper only lets the persona say why (rate limit, auth, ...) in its answer.
    """

    def __init__(self, inner: OpenAITranscriber) -> None:
        self._inner = inner

    async def transcribe(self, data: bytes, *, filename: str, content_type: str) -> str:
        try:
            return await self._inner.transcribe(data, filename=filename, content_type=content_type)
        except ProviderError as error:
            _log.warning("voice message %s not transcribed: %s", filename, error)
            return f"(the voice message {filename} could not be transcribed: {error.kind.value} error)"

    async def close(self) -> None:
        await self._inner.close()


def speech_transcriber(settings: Settings) -> NotingTranscriber | None:
    """One transcriber for every adapter when speech-to-text is enabled; the caller closes it."""
    speech = settings.speech_settings()
    return NotingTranscriber(OpenAITranscriber(speech)) if speech is not None else None


def server_adapters(
    settings: Settings,
    engine: Engine,
    *,
    transcriber: NotingTranscriber | None = None,
    voice: VoiceReplier | None = None,
) -> Iterator[Adapter]:
    discord = settings.discord_settings()
    if discord is not None:
        yield DiscordAdapter(discord, engine, transcriber=transcriber, voice=voice)
    matrix = settings.matrix_settings()
    if matrix is not None:
        yield MatrixAdapter(matrix, engine, settings.data_dir, transcriber=transcriber, voice=voice)
