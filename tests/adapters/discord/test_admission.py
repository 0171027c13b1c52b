"""The engine's gate comes before the adapter's expensive work: no speech-to-text (nor download,
nor thread) for a message the engine refuses; /ask answers with the room's persona, model, session."""

from __future__ import annotations

from typing import Any

from persona.types import TurnOutcome
from tests.adapters.discord.conftest import e2e_settings, run_adapter, wait_until
from tests.adapters.discord.fake_engine import LIMIT_LINE, FakeEngine
from tests.support.discord_fake import CHANNEL_ID, DM_CHANNEL_ID, USER_ID, FakeDiscord


class _CountingTranscriber:
    """The speech fake: counts what it was asked to transcribe."""

    def __init__(self) -> None:
        self.calls = 0

    async def transcribe(self, data: bytes, *, filename: str, content_type: str) -> str:
        self.calls += 1
        return f"heard {len(data)} bytes"


def _voice_dm(fake: FakeDiscord) -> dict[str, Any]:
    voice = fake.attachment("voice-message.ogg", b"OggS1234", "audio/ogg")
    return fake.message(content="", channel_id=DM_CHANNEL_ID, guild=False, attachments=(voice,))


def _dm_posts(fake: FakeDiscord) -> list[str]:
    path = f"/api/v10/channels/{DM_CHANNEL_ID}/messages"
    return [
        str((r.json or {}).get("content")) for r in fake.requests if r.method == "POST" and r.path == path
    ]


async def test_a_rate_limited_voice_message_is_not_downloaded_or_transcribed(
    fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    speech = _CountingTranscriber()
    engine.limited_authors.add(str(USER_ID))
    async with run_adapter(e2e_settings(), engine, transcriber=speech):
        await fake_discord.dispatch("MESSAGE_CREATE", _voice_dm(fake_discord))
        await fake_discord.wait_for(lambda: len(_dm_posts(fake_discord)) == 1)
    assert engine.outcomes == [TurnOutcome.LIMITED]
    assert _dm_posts(fake_discord) == [LIMIT_LINE]  # the one polite line
    assert speech.calls == 0


async def test_a_redelivered_voice_message_is_transcribed_once(
    fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    speech = _CountingTranscriber()
    voice = _voice_dm(fake_discord)
    async with run_adapter(e2e_settings(), engine, transcriber=speech):
        await fake_discord.dispatch("MESSAGE_CREATE", voice)
        await wait_until(lambda: engine.outcomes == [TurnOutcome.ANSWERED])
        await fake_discord.dispatch("MESSAGE_CREATE", voice)  # Discord replays it (a RESUME)
        await wait_until(lambda: len(engine.outcomes) == 2)
    assert engine.outcomes == [TurnOutcome.ANSWERED, TurnOutcome.DUPLICATE]
    assert speech.calls == 1
    assert [m.attachments[0].text for m in engine.submitted] == ["heard 8 bytes"]


async def test_ask_uses_the_rooms_persona_model_and_session(
    fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    policy = {"persona": "pirate", "model": "big-model", "per_user_session": True}
    settings = e2e_settings(channels={CHANNEL_ID: policy})
    async with run_adapter(settings, engine):
        interaction = fake_discord.slash_command("ask", [{"name": "prompt", "type": 3, "value": "ahoy?"}])
        await fake_discord.dispatch("INTERACTION_CREATE", interaction)
        await wait_until(lambda: engine.outcomes == [TurnOutcome.ANSWERED])
    [asked] = engine.submitted
    assert (asked.persona, asked.model, asked.per_user_session) == ("pirate", "big-model", True)
    assert asked.session.user_id == str(USER_ID)  # the room keeps one conversation per author
