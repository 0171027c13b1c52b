"""Hostile input and provider trouble through the whole bot, as `familiar run` wires it.

Discord via its gateway fake, Matrix via a real Synapse, the LLM on the wire-level server. What a
person sent is answered and stored cleaned; a frame discord.py cannot parse restarts only the
Discord adapter; a hung provider gives one friendly line after the first-token deadline; a 429
phase costs a bounded number of provider calls and no learning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from persona.api import Command
from persona.providers.config import ChainSettings
from persona.types import IncomingMessage
from tests.adapters.matrix.conftest import replies_to, user_client
from tests.bot.platform_support import (
    EXTRACTION_MARKER,
    RunningFamiliar,
    answer_for,
    familiar_settings,
    persona_prompt,
    reply_requests,
    running_familiar,
    wait_until,
)
from tests.bot.test_platforms_e2e import (
    answered,
    bot_account,
    discord_ready,
    discord_section,
    dm_room,
    fake_discord,
    matrix_ready,
    matrix_section,
    mention,
    posts,
    responder,
    shown,
)
from tests.support.discord_fake import CHANNEL_ID, USER_ID, FakeDiscord
from tests.support.llm_server import LLMServer, hang, llm_server, rate_limited
from tests.support.synapse import RegisteredUser, SynapseServer

__all__ = ["bot_account", "fake_discord", "llm_server", "responder"]

HOSTILE = "nul\x00 bell\x07 escape\x1b[2J done"
CLEANED = "nul bell escape[2J done"
HUGE = "word " * 20_000  # 100,000 characters


async def history_of(familiar: RunningFamiliar, platform: str, author: str) -> list[str]:
    """What the bot stored of this person's messages, as `/memory export` returns it."""
    context = IncomingMessage(platform=platform, room_id="x", author_id=author, author_name=author,
                              text="", event_id="export", is_dm=True)  # fmt: skip
    result = await familiar.app.built.engine.command(Command(name="export", args="", context=context))
    assert result.file_data is not None
    exported: dict[str, Any] = json.loads(result.file_data)
    return [t["text"] for t in exported["history"] if t["role"] == "user"]


@pytest.mark.usefixtures("responder")
async def test_discord_hostile_text_is_answered_and_stored_cleaned_and_cut(
    fake_discord: FakeDiscord, llm_server: LLMServer, tmp_path: Path
) -> None:
    settings = familiar_settings(tmp_path / "data", llm_server, discord=discord_section())
    async with running_familiar(settings) as familiar:
        await discord_ready(familiar)
        await fake_discord.dispatch("MESSAGE_CREATE", mention(fake_discord, HOSTILE))
        await fake_discord.wait_for(lambda: len(posts(fake_discord, CHANNEL_ID)) == 1)
        await fake_discord.dispatch("MESSAGE_CREATE", mention(fake_discord, HUGE))
        await fake_discord.wait_for(lambda: len(posts(fake_discord, CHANNEL_ID)) >= 2)
        await familiar.settle(answered=2)
        stored = await history_of(familiar, "discord", str(USER_ID))
        persona = persona_prompt(familiar.app)

    [asked] = reply_requests(llm_server, persona, CLEANED)
    assert shown(fake_discord, CHANNEL_ID)[0] == answer_for(asked)
    [huge] = reply_requests(llm_server, persona, "[message cut:")
    assert len(huge.last_user_text) <= 16_000 + len("alice: ")
    assert stored[0] == CLEANED
    assert "[message cut: " in stored[1]
    assert len(stored[1]) <= 16_000


@pytest.mark.usefixtures("responder")
async def test_discord_a_frame_discord_py_cannot_parse_restarts_the_adapter_and_the_next_is_answered(
    fake_discord: FakeDiscord, llm_server: LLMServer, tmp_path: Path
) -> None:
    settings = familiar_settings(tmp_path / "data", llm_server, discord=discord_section())
    async with running_familiar(settings) as familiar:
        await discord_ready(familiar)
        # A lone surrogate: valid JSON, refused by the strict parser discord.py uses (orjson).
        await fake_discord.dispatch("MESSAGE_CREATE", mention(fake_discord, "broken \ud800 frame"))
        await wait_until(lambda: familiar.restarts["discord"] == 1 and fake_discord.identifies == 2)
        await discord_ready(familiar)
        await fake_discord.dispatch("MESSAGE_CREATE", mention(fake_discord, "still there?"))
        await fake_discord.wait_for(lambda: len(posts(fake_discord, CHANNEL_ID)) == 1)
        persona = persona_prompt(familiar.app)

    [asked] = reply_requests(llm_server, persona, "still there?")
    assert shown(fake_discord, CHANNEL_ID) == [answer_for(asked)]


@pytest.mark.usefixtures("responder")
async def test_discord_a_hung_provider_gets_a_friendly_line_at_the_first_token_deadline(
    fake_discord: FakeDiscord, llm_server: LLMServer, tmp_path: Path
) -> None:
    settings = familiar_settings(tmp_path / "data", llm_server, discord=discord_section())
    settings = settings.model_copy(update={"llm": ChainSettings(first_token_s=1.0)})
    llm_server.script(hang())
    async with running_familiar(settings) as familiar:
        await discord_ready(familiar)
        await fake_discord.dispatch("MESSAGE_CREATE", mention(fake_discord, "are you awake?"))
        await fake_discord.wait_for(lambda: len(posts(fake_discord, CHANNEL_ID)) == 1)

    assert shown(fake_discord, CHANNEL_ID) == ["My AI provider took too long to answer. Please try again."]
    assert fake_discord.sent("POST", f"/channels/{CHANNEL_ID}/typing")  # typing shown meanwhile
    assert len(llm_server.chat_requests) == 1


@pytest.mark.usefixtures("responder")
async def test_discord_a_429_phase_costs_bounded_calls_and_no_learning(
    fake_discord: FakeDiscord, llm_server: LLMServer, tmp_path: Path
) -> None:
    settings = familiar_settings(tmp_path / "data", llm_server, discord=discord_section())
    llm_server.script(*[rate_limited(0.01) for _ in range(50)])
    asked = 5
    async with running_familiar(settings) as familiar:
        await discord_ready(familiar)
        for index in range(asked):
            await fake_discord.dispatch(
                "MESSAGE_CREATE", mention(fake_discord, f"my cat is called Tom {index}")
            )
            await fake_discord.wait_for(lambda n=index + 1: len(posts(fake_discord, CHANNEL_ID)) == n)
        assert await familiar.app.built.engine.jobs.drain(20.0)

    learning = [r for r in llm_server.chat_requests if EXTRACTION_MARKER in r.system_text]
    assert learning == []  # no learning for failed turns
    # The first reply tries three times (opening the circuit), each later one once.
    assert len(llm_server.chat_requests) == 3 + (asked - 1)
    assert set(shown(fake_discord, CHANNEL_ID)) == {
        "I'm getting too many requests right now. Please try again in a minute."
    }


@pytest.mark.synapse
@pytest.mark.usefixtures("responder")
async def test_matrix_hostile_text_is_answered_and_stored_cleaned_and_cut(
    synapse: SynapseServer, bot_account: RegisteredUser, llm_server: LLMServer, tmp_path: Path
) -> None:
    settings = familiar_settings(tmp_path / "data", llm_server, matrix=matrix_section(synapse, bot_account))
    long_text = "word " * 6_000  # 30,000 characters: under Matrix's 64 KiB event limit
    async with running_familiar(settings) as familiar, user_client(synapse, tmp_path / "alice") as alice:
        await matrix_ready(familiar)
        room_id = await dm_room(alice, bot_account.user_id)
        # Synapse itself refuses an event with a lone surrogate (it cannot encode it), so a
        # client-server round trip carries controls and length; surrogates are covered by Discord
        # (a malformed frame) and the terminal (undecodable bytes).
        event_id = await alice.send_text(room_id, HOSTILE)
        await answered(familiar, alice, llm_server, room_id=room_id, event_id=event_id, text=CLEANED)
        llm_server.set_responder(lambda _: "That was a long one.")  # not 16k characters of edits
        event_id = await alice.send_text(room_id, long_text)
        await alice.wait_for(room_id, replies_to(bot_account.user_id, event_id))
        await familiar.settle(answered=2)
        stored = await history_of(familiar, "matrix", alice.user_id)

    assert stored[0] == CLEANED
    assert "[message cut: " in stored[1]
    assert len(stored[1]) <= 16_000
