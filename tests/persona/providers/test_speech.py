"""Speech-to-text against the local server speaking the real `/v1/audio/transcriptions` wire format."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.discord.attachments import Transcriber as DiscordTranscriber
from adapters.matrix.media import Transcriber as MatrixTranscriber
from persona.providers.base import ErrorKind, ProviderError
from persona.providers.speech import OpenAITranscriber, SpeechSettings
from tests.adapters.discord.conftest import e2e_settings, fake_discord, run_adapter, wait_until
from tests.adapters.discord.fake_engine import FakeEngine
from tests.support.discord_fake import DM_CHANNEL_ID, FakeDiscord
from tests.support.llm_server import LLMServer, reply, unauthorized

__all__ = ["fake_discord"]

OGG = b"OggS" + bytes(range(60))


def _settings(server: LLMServer, **overrides: Any) -> SpeechSettings:
    values: dict[str, Any] = {
        "enabled": True,
        "base_url": server.openai_base_url,
        "api_key": "test-key",
        "model": "whisper-large-v3",
        "timeout_s": 5.0,
    }
    values.update(overrides)
    return SpeechSettings.model_validate(values)


@pytest.fixture
async def transcriber(llm_server: LLMServer) -> AsyncIterator[OpenAITranscriber]:
    speech = OpenAITranscriber(_settings(llm_server, language="de"))
    yield speech
    await speech.close()


async def test_audio_bytes_come_back_as_text_from_the_configured_model(
    transcriber: OpenAITranscriber, llm_server: LLMServer
) -> None:
    text = await transcriber.transcribe(OGG, filename="voice-message.ogg", content_type="audio/ogg")

    assert text == f"transcribed {len(OGG)} bytes"
    [request] = llm_server.requests
    assert request.path == "/v1/audio/transcriptions"
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.json == {
        "model": "whisper-large-v3",
        "language": "de",
        "response_format": "json",
        "filename": "voice-message.ogg",
        "file_size": len(OGG),
    }


async def test_a_scripted_transcript_is_returned_trimmed(
    transcriber: OpenAITranscriber, llm_server: LLMServer
) -> None:
    llm_server.script(reply("  remind me to buy milk \n"), endpoint="transcriptions")
    llm_server.transcript = "the default after the script"

    first = await transcriber.transcribe(OGG, filename="a.ogg", content_type="audio/ogg")
    second = await transcriber.transcribe(OGG, filename="b.ogg", content_type="audio/ogg")

    assert (first, second) == ("remind me to buy milk", "the default after the script")


async def test_a_rejected_key_is_an_auth_error(transcriber: OpenAITranscriber, llm_server: LLMServer) -> None:
    llm_server.script(unauthorized(), endpoint="transcriptions")

    with pytest.raises(ProviderError) as failed:
        await transcriber.transcribe(OGG, filename="a.ogg", content_type="audio/ogg")

    assert failed.value.kind is ErrorKind.AUTH
    assert "401" in str(failed.value)


async def test_oversized_audio_is_refused_without_a_request(llm_server: LLMServer) -> None:
    speech = OpenAITranscriber(_settings(llm_server, max_bytes=16))
    try:
        with pytest.raises(ProviderError) as refused:
            await speech.transcribe(OGG, filename="long.ogg", content_type="audio/ogg")
    finally:
        await speech.close()

    assert refused.value.kind is ErrorKind.BAD_REQUEST
    assert f"long.ogg is too large to transcribe ({len(OGG)} bytes; the limit is 16)" in str(refused.value)
    assert llm_server.requests == []


async def test_after_close_it_refuses_and_close_is_idempotent(llm_server: LLMServer) -> None:
    speech = OpenAITranscriber(_settings(llm_server))
    await speech.transcribe(OGG, filename="a.ogg", content_type="audio/ogg")
    await speech.close()
    await speech.close()

    with pytest.raises(ProviderError) as closed:
        await speech.transcribe(OGG, filename="a.ogg", content_type="audio/ogg")
    assert closed.value.kind is ErrorKind.CONNECTION
    assert len(llm_server.requests) == 1


def test_it_fits_both_adapters_transcriber_protocols() -> None:
    speech = OpenAITranscriber(SpeechSettings())
    as_discord: DiscordTranscriber = speech  # checked by mypy: a structural match
    as_matrix: MatrixTranscriber = speech
    assert as_discord is as_matrix


async def test_a_discord_voice_message_reaches_the_engine_as_transcribed_text(
    fake_discord: FakeDiscord, llm_server: LLMServer
) -> None:
    llm_server.transcript = "what's the weather tomorrow?"
    engine = FakeEngine()
    voice = fake_discord.attachment("voice-message.ogg", OGG, "audio/ogg")
    dm = fake_discord.message(content="", channel_id=DM_CHANNEL_ID, guild=False, attachments=(voice,))
    speech = OpenAITranscriber(_settings(llm_server))
    try:
        async with run_adapter(e2e_settings(), engine, transcriber=speech):
            await fake_discord.dispatch("MESSAGE_CREATE", dm)
            await wait_until(lambda: len(engine.outcomes) == 1)
    finally:
        await speech.close()

    [attachment] = engine.submitted[0].attachments
    assert (attachment.kind, attachment.text) == ("audio", "what's the weather tomorrow?")
    assert llm_server.requests[-1].json["file_size"] == len(OGG)
