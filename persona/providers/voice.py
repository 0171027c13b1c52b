"""Text-to-speech for voice replies over an OpenAI-compatible `/v1/audio/speech` endpoint
(OpenAI tts-1 / gpt-4o-mini-tts, a local Kokoro or Piper server, LocalAI).

It asks for Ogg/Opus, the format both Discord voice messages and Matrix voice messages play.
Failures raise a classified `ProviderError`, like the chat providers; one attempt only, since the
text reply is already on screen and a voice reply that fails is simply left out.
"""

from __future__ import annotations

import logging

import openai
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from persona.providers.base import ErrorKind, ProviderError
from persona.providers.errors import provider_errors

_log = logging.getLogger(__name__)

PROVIDER_NAME = "voice"
_PLACEHOLDER_KEY = "unused"  # local servers ignore the key, the SDK insists on one


class VoiceSettings(BaseModel):
    """Where voice replies are spoken (`FAMILIAR_VOICE__*`). Unset `base_url`/`api_key` fall back to
    the OpenAI ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str = Field(default="tts-1", min_length=1)
    voice: str = Field(default="alloy", min_length=1)
    max_chars: int = Field(default=1500, gt=0)  # longer replies are spoken up to here, text has it all
    timeout_s: float = Field(default=60.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)


class OpenAISpeaker:
    """One AsyncOpenAI client, built on first use, reused until `close()`."""

    def __init__(self, settings: VoiceSettings) -> None:
        self._settings = settings
        self._client: openai.AsyncOpenAI | None = None
        self._closed = False

    async def synthesize(self, text: str) -> bytes:
        """Ogg/Opus audio of `text`; raises ProviderError."""
        if self._closed:
            raise ProviderError(ErrorKind.CONNECTION, "speaker closed", provider=PROVIDER_NAME)
        client = self._client = self._client or self._build_client()
        with provider_errors(PROVIDER_NAME):
            response = await client.audio.speech.create(
                model=self._settings.model,
                voice=self._settings.voice,
                input=text[: self._settings.max_chars],
                response_format="opus",
            )
            data = await response.aread()
        if not data:
            raise ProviderError(ErrorKind.MALFORMED, "empty audio", provider=PROVIDER_NAME)
        _log.debug("spoke %d characters into %d bytes", len(text), len(data))
        return data

    def _build_client(self) -> openai.AsyncOpenAI:
        settings = self._settings
        key = settings.api_key.get_secret_value() if settings.api_key is not None else None
        return openai.AsyncOpenAI(
            api_key=key or _PLACEHOLDER_KEY,
            base_url=settings.base_url,
            timeout=openai.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
            max_retries=0,
            http_client=openai.DefaultAioHttpClient(),
        )

    async def close(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.close()
