"""Speech-to-text for voice messages over an OpenAI-compatible `/v1/audio/transcriptions` endpoint
(OpenAI whisper-1 / gpt-4o-mini-transcribe, Groq, a local faster-whisper server, LocalAI).

`OpenAITranscriber` satisfies the adapters' `Transcriber` protocols structurally (persona must not
import adapters): `await transcribe(data, filename=..., content_type=...) -> str`. Failures raise a
classified `ProviderError`, like the chat providers.
"""

from __future__ import annotations

import logging

import openai
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from persona.providers.base import ErrorKind, ProviderError
from persona.providers.errors import provider_errors

_log = logging.getLogger(__name__)

PROVIDER_NAME = "speech"
# Local servers (faster-whisper, LocalAI) ignore the key but the SDK insists on one.
_PLACEHOLDER_KEY = "unused"
_MIB = 1024 * 1024


class SpeechSettings(BaseModel):
    """Where voice messages are transcribed. `base_url`/`api_key` unset -> the OpenAI SDK's env vars
    (bot/ passes its own top-level OpenAI values first)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str = Field(default="whisper-1", min_length=1)
    timeout_s: float = Field(default=60.0, gt=0)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    # OpenAI's own limit is 25 MB per file; bigger audio is refused before any request.
    max_bytes: int = Field(default=25 * _MIB, gt=0)
    language: str | None = None  # ISO-639-1 hint ("en"); unset lets the model detect it


class OpenAITranscriber:
    """Speech-to-text with one AsyncOpenAI client, built on first use and reused until `close()`."""

    def __init__(self, settings: SpeechSettings) -> None:
        self._settings = settings
        self._client: openai.AsyncOpenAI | None = None
        self._closed = False

    @property
    def model(self) -> str:
        return self._settings.model

    async def transcribe(self, data: bytes, *, filename: str, content_type: str) -> str:
        """The spoken text of `data`; raises ProviderError (BAD_REQUEST when the audio is too big)."""
        self._check_size(data, filename)
        client = self._require_client()
        with provider_errors(PROVIDER_NAME):
            result = await client.audio.transcriptions.create(
                file=(filename, data, content_type),
                model=self._settings.model,
                language=self._settings.language or openai.omit,
                response_format="json",
            )
        text = result.text.strip()
        _log.debug("transcribed %s (%d bytes) into %d characters", filename, len(data), len(text))
        return text

    def _check_size(self, data: bytes, filename: str) -> None:
        limit = self._settings.max_bytes
        if len(data) > limit:
            raise ProviderError(
                ErrorKind.BAD_REQUEST,
                f"audio {filename} is too large to transcribe ({len(data)} bytes; the limit is {limit})",
                provider=PROVIDER_NAME,
            )

    def _require_client(self) -> openai.AsyncOpenAI:
        if self._closed:
            raise ProviderError(ErrorKind.CONNECTION, "transcriber closed", provider=PROVIDER_NAME)
        if self._client is None:
            self._client = self._build_client()
        return self._client

    def _build_client(self) -> openai.AsyncOpenAI:
        """Constructing the client does no I/O; it is deferred only so a missing key is reported
        as a classified error at the first voice message rather than at start-up."""
        settings = self._settings
        key = settings.api_key.get_secret_value() if settings.api_key is not None else None
        try:
            return self._client_with(key)
        except openai.OpenAIError:
            if settings.base_url is None:
                raise ProviderError(
                    ErrorKind.AUTH,
                    "no API key for speech-to-text: set FAMILIAR_SPEECH__API_KEY or OPENAI_API_KEY",
                    provider=PROVIDER_NAME,
                ) from None
            # A configured endpoint without a key is usually a local server: it ignores the key.
            return self._client_with(_PLACEHOLDER_KEY)

    def _client_with(self, api_key: str | None) -> openai.AsyncOpenAI:
        settings = self._settings
        return openai.AsyncOpenAI(
            api_key=api_key,
            base_url=settings.base_url,
            timeout=openai.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
            max_retries=0,  # a failed voice message becomes a note; the user can simply resend
            http_client=openai.DefaultAioHttpClient(),
        )

    async def close(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.close()
