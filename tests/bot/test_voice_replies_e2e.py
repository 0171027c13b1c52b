"""Voice replies through the whole bot: a voice message is transcribed (the wire-level LLM server),
answered as text, then spoken by a local `/v1/audio/speech` endpoint and posted as a Discord voice
message or a Matrix `m.audio`, only where the person opted in; a failing speech endpoint leaves
the text reply, once, and no error."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nio import UploadResponse

from bot.adapters import speech_transcriber
from bot.config import Settings
from persona.api import Command
from persona.types import IncomingMessage
from tests.adapters.matrix.conftest import user_client
from tests.bot.platform_support import (
    RunningFamiliar,
    familiar_settings,
    running_familiar,
    wait_until,
)
from tests.bot.test_platforms_e2e import (
    bot_account,
    discord_ready,
    discord_section,
    dm_room,
    fake_discord,
    matrix_ready,
    matrix_section,
    responder,
)
from tests.support.discord_fake import DM_CHANNEL_ID, USER_ID, FakeDiscord
from tests.support.llm_server import LLMServer, llm_server
from tests.support.speech_server import SPOKEN_SECONDS, SpeechServer
from tests.support.synapse import RegisteredUser, SynapseServer

__all__ = ["bot_account", "fake_discord", "llm_server", "responder"]

VOICE_FLAG = 1 << 13  # Discord's IS_VOICE_MESSAGE


def voice_settings(data: Path, llm: LLMServer, speech: SpeechServer, **platform: Any) -> Settings:
    return familiar_settings(
        data, llm, speech={"enabled": True, "base_url": llm.openai_base_url, "api_key": "k"},
        voice={"enabled": True, "base_url": speech.base_url, "api_key": "k"}, **platform,
    )  # fmt: skip


@contextlib.asynccontextmanager
async def voiced_familiar(settings: Settings) -> AsyncIterator[RunningFamiliar]:
    transcriber = speech_transcriber(settings)
    assert transcriber is not None
    try:
        async with running_familiar(settings, transcriber=transcriber) as familiar:
            yield familiar
    finally:
        await transcriber.close()


def dm_posts(fake: FakeDiscord) -> list[Any]:
    path = f"/api/v10/channels/{DM_CHANNEL_ID}/messages"
    return [r for r in fake.requests if r.method == "POST" and r.path == path]


def is_audio(event: Any) -> bool:
    return bool(event.source.get("content", {}).get("msgtype") == "m.audio")


def dm_timeline(fake: FakeDiscord) -> list[tuple[str, object]]:
    """What the DM shows, message by message: ("text", its last edit) or ("voice", the upload)."""
    seen: list[tuple[str, object]] = []
    for request in fake.requests:
        if request.method == "POST" and request.path == f"/api/v10/channels/{DM_CHANNEL_ID}/messages":
            seen.append(
                ("voice", request.files) if request.files else ("text", (request.json or {}).get("content"))
            )
        elif request.method == "PATCH" and f"/channels/{DM_CHANNEL_ID}/messages/" in request.path:
            seen[-1] = ("text", (request.json or {}).get("content"))
    return seen


async def say_by_voice(fake: FakeDiscord) -> None:
    voice = fake.attachment("voice-message.ogg", b"OggS1234", "audio/ogg")
    await fake.dispatch("MESSAGE_CREATE", fake.message(content="", channel_id=DM_CHANNEL_ID, guild=False,
                                                       attachments=(voice,)))  # fmt: skip


@pytest.mark.usefixtures("responder")
async def test_discord_voice_reply_only_after_voice_on_and_text_once_when_speech_fails(
    fake_discord: FakeDiscord, llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.transcript = "what should I cook tonight"
    async with SpeechServer() as speech:
        settings = voice_settings(tmp_path / "data", llm_server, speech, discord=discord_section())
        async with voiced_familiar(settings) as familiar:
            await discord_ready(familiar)
            engine = familiar.app.built.engine
            await say_by_voice(fake_discord)  # voice replies are off: text only
            await wait_until(lambda: engine.stats["turns.answered"] == 1)
            origin = IncomingMessage(platform="discord", room_id=str(DM_CHANNEL_ID), author_id=str(USER_ID),
                                     author_name="alice", text="", event_id="i-1", is_dm=True)  # fmt: skip
            turned_on = await engine.command(Command(name="voice", args="on", context=origin))
            assert "Voice replies to you are on" in turned_on.text
            await say_by_voice(fake_discord)
            await fake_discord.wait_for(lambda: any(r.files for r in dm_posts(fake_discord)))
            speech.failing = True
            await say_by_voice(fake_discord)
            voice = familiar.app.assistant.voice_replies
            assert voice is not None
            await wait_until(lambda: engine.stats["turns.answered"] == 3 and voice.failed == 1)

    seen = dm_timeline(fake_discord)
    assert [kind for kind, _ in seen] == ["text", "text", "voice", "text"]  # the voice after its text
    texts = [str(shown) for kind, shown in seen if kind == "text"]
    heard = "Answer to: [voice message transcript]\nwhat should I cook tonight"
    assert texts == [heard, heard, heard]  # each answered once, and no error line
    [spoken] = [r for r in dm_posts(fake_discord) if r.files]
    assert (spoken.json or {})["flags"] == VOICE_FLAG
    [attachment] = (spoken.json or {})["attachments"]
    assert attachment["duration_secs"] == SPOKEN_SECONDS
    assert spoken.files[0][1].startswith(b"OggS")
    assert [r["input"] for r in speech.requests] == [texts[1], texts[2]]
    assert [r["response_format"] for r in speech.requests] == ["opus", "opus"]


@pytest.mark.synapse
@pytest.mark.usefixtures("responder")
async def test_matrix_voice_message_gets_text_then_m_audio_after_voice_on(
    synapse: SynapseServer, bot_account: RegisteredUser, llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.transcript = "tell me a short story"
    bot_id = bot_account.user_id
    async with SpeechServer() as speech:
        settings = voice_settings(tmp_path / "data", llm_server, speech,
                                  matrix=matrix_section(synapse, bot_account))  # fmt: skip
        async with voiced_familiar(settings) as familiar, user_client(synapse, tmp_path / "alice") as alice:
            await matrix_ready(familiar)
            room_id = await dm_room(alice, bot_id)
            await alice.send_text(room_id, "!familiar voice on")
            await alice.wait_for(
                room_id, lambda e: "Voice replies to you are on" in str(getattr(e, "body", ""))
            )
            upload, _ = await alice.client.upload(
                lambda _a, _b: io.BytesIO(b"OggS-voice"), content_type="audio/ogg",
                filename="voice.ogg", filesize=10,
            )  # fmt: skip
            assert isinstance(upload, UploadResponse)
            asked = await alice.send(room_id, {
                "msgtype": "m.audio", "body": "voice.ogg", "url": upload.content_uri,
                "info": {"mimetype": "audio/ogg", "size": 10}, "org.matrix.msc3245.voice": {},
            })  # fmt: skip
            heard = "Answer to: [voice message transcript]\ntell me a short story"
            await alice.wait_answer(room_id, bot_id, asked, heard)  # the text first
            audio = await alice.wait_for(room_id, lambda e: e.sender == bot_id and is_audio(e))

    content = audio.source["content"]
    assert content["m.relates_to"]["m.in_reply_to"]["event_id"] == asked
    assert content["info"]["duration"] == SPOKEN_SECONDS * 1000
    assert "org.matrix.msc3245.voice" in content
    assert content["url"].startswith("mxc://")
    assert [r["input"] for r in speech.requests] == [heard]
