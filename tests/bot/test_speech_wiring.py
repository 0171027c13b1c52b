"""Speech-to-text settings and the transcriber the composition root hands to the adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.adapters import NotingTranscriber, speech_transcriber
from bot.config import load_settings
from tests.support.llm_server import LLMServer, llm_server, unauthorized

__all__ = ["llm_server"]


def test_speech_is_off_unless_enabled() -> None:
    settings = load_settings(env_file=None)
    assert settings.speech_settings() is None
    assert speech_transcriber(settings) is None


def test_unset_endpoint_and_key_fall_back_to_the_openai_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAMILIAR_SPEECH__ENABLED", "true")
    monkeypatch.setenv("FAMILIAR_SPEECH__MODEL", "gpt-4o-mini-transcribe")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-main")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    speech = load_settings(env_file=None).speech_settings()
    assert speech is not None
    assert (speech.model, speech.base_url) == ("gpt-4o-mini-transcribe", "http://127.0.0.1:9/v1")
    assert speech.api_key is not None
    assert speech.api_key.get_secret_value() == "sk-main"

    monkeypatch.setenv("FAMILIAR_SPEECH__BASE_URL", "http://127.0.0.1:8/v1")
    monkeypatch.setenv("FAMILIAR_SPEECH__API_KEY", "gsk-speech")
    own = load_settings(env_file=None).speech_settings()
    assert own is not None
    assert own.base_url == "http://127.0.0.1:8/v1"
    assert own.api_key is not None
    assert own.api_key.get_secret_value() == "gsk-speech"


@pytest.fixture
async def transcriber(
    llm_server: LLMServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[NotingTranscriber]:
    monkeypatch.setenv("FAMILIAR_SPEECH__ENABLED", "true")
    monkeypatch.setenv("FAMILIAR_SPEECH__BASE_URL", llm_server.openai_base_url)
    monkeypatch.setenv("FAMILIAR_SPEECH__API_KEY", "k")
    built = speech_transcriber(load_settings(env_file=None))
    assert built is not None
    yield built
    await built.close()


async def test_a_failing_provider_becomes_a_note_the_persona_can_mention(
    transcriber: NotingTranscriber, llm_server: LLMServer
) -> None:
    llm_server.script(unauthorized(), endpoint="transcriptions")
    failed = await transcriber.transcribe(b"OggS", filename="voice.ogg", content_type="audio/ogg")
    heard = await transcriber.transcribe(b"OggS", filename="voice.ogg", content_type="audio/ogg")
    assert failed == "(the voice message voice.ogg could not be transcribed: auth error)"
    assert heard == "transcribed 4 bytes"
