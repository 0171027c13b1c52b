"""The whole bot, as `familiar run` wires it, against Discord's fake and a real Synapse.

Real engine, real SQLite (or Redis) hot stores, embedded Chroma, the ONNX embedder, the provider
registry talking the OpenAI wire protocol to a loopback server, and the real platform adapters:
discord.py's own `Client.start()` against the gateway/REST fake, matrix-nio against Synapse.
Assertions are on what users see (what the bot posted, where, replying to what) and on what the
provider was sent (the persona prompt, the user's words, and what must stay private).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

# discord.py imports the deprecated stdlib `audioop` (see tests/adapters/discord/conftest.py).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401

import pytest

from tests.adapters.matrix.conftest import TestUser, joined, replies_to, unique, user_client
from tests.bot.platform_support import (
    WAIT_S,
    FamiliarResponder,
    RunningFamiliar,
    TaughtFact,
    answer_for,
    familiar_settings,
    persona_prompt,
    reply_requests,
    running_familiar,
    wait_until,
)
from tests.support.discord_fake import (
    APP_ID,
    BOT_USER,
    CHANNEL_ID,
    DM_CHANNEL_ID,
    EPHEMERAL_FLAG,
    GUILD_ID,
    FakeDiscord,
    patch_discord_py,
)
from tests.support.llm_server import LLMServer, llm_server
from tests.support.synapse import RegisteredUser, SynapseServer

__all__ = ["llm_server"]

SECRET = TaughtFact(attribute="locker_code", value="4417")
HOME = TaughtFact(attribute="home_city", value="Lyon")
TEACHINGS = {"locker code is 4417": SECRET, "I live in Lyon": HOME}
BOT_MENTION = f"<@{BOT_USER['id']}>"


@pytest.fixture
def responder(llm_server: LLMServer) -> FamiliarResponder:
    responder = FamiliarResponder(TEACHINGS)
    llm_server.set_responder(responder)
    return responder


# ---- Discord ---------------------------------------------------------------------------------


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    restore = patch_discord_py(fake)
    try:
        yield fake
    finally:
        restore()
        await fake.close()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def hot_store_url(request: pytest.FixtureRequest) -> str | None:
    """None: history, dedup and limits in SQLite; else the URL of a real redis-server, FLUSHDB'd."""
    if request.param == "sqlite":
        return None
    request.getfixturevalue("redis_client")  # flushes the database before the test
    url: str = request.getfixturevalue("redis_server")
    return url


def discord_section() -> dict[str, Any]:
    return {
        "token": "fake-token",
        "stream_edit_interval": 0.0,
        "typing_refresh": 3600.0,
        "guild_ready_timeout": 0.05,
        "command_guild_ids": [GUILD_ID],
    }


def posts(fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    path = f"/api/v10/channels/{channel_id}/messages"
    return [r.json or {} for r in fake.requests if r.method == "POST" and r.path == path]


def shown(fake: FakeDiscord, channel_id: int) -> list[str]:
    """What the user ends up seeing in a channel, one entry per bot message: a streamed message
    shows its last edit (replies in one channel are sequential in these tests)."""
    seen: list[str] = []
    for request in fake.requests:
        body = request.json or {}
        if request.method == "POST" and request.path == f"/api/v10/channels/{channel_id}/messages":
            seen.append(str(body.get("content", "")))
        elif request.method == "PATCH" and f"/channels/{channel_id}/messages/" in request.path:
            seen[-1] = str(body.get("content", ""))
    return seen


def mention(fake: FakeDiscord, text: str, **kwargs: Any) -> dict[str, Any]:
    return fake.message(content=f"{BOT_MENTION} {text}", mentions=(BOT_USER,), **kwargs)


def dm(fake: FakeDiscord, text: str) -> dict[str, Any]:
    return fake.message(content=text, channel_id=DM_CHANNEL_ID, guild=False)


async def discord_ready(familiar: RunningFamiliar) -> None:
    adapter = familiar.adapter("discord")
    await wait_until(lambda: adapter.client is not None and adapter.client.is_ready())


@pytest.mark.usefixtures("responder")
async def test_discord_mention_and_dm_are_answered_by_the_real_engine(
    fake_discord: FakeDiscord, llm_server: LLMServer, tmp_path: Path
) -> None:
    settings = familiar_settings(tmp_path / "data", llm_server, discord=discord_section())
    async with running_familiar(settings) as familiar:
        await discord_ready(familiar)
        persona = persona_prompt(familiar.app)
        question = mention(fake_discord, "what should I cook tonight?")
        await fake_discord.dispatch("MESSAGE_CREATE", question)
        await fake_discord.wait_for(lambda: len(posts(fake_discord, CHANNEL_ID)) == 1)
        await fake_discord.dispatch("MESSAGE_CREATE", dm(fake_discord, "good morning, how are you?"))
        await fake_discord.wait_for(lambda: len(posts(fake_discord, DM_CHANNEL_ID)) == 1)

    # The prompt carried the whole persona system prompt and the user's words (the filter's terms).
    [asked] = reply_requests(llm_server, persona, "what should I cook tonight?")
    [post] = posts(fake_discord, CHANNEL_ID)
    assert str(post["message_reference"]["message_id"]) == question["id"]
    assert shown(fake_discord, CHANNEL_ID) == [answer_for(asked)]
    assert post["allowed_mentions"]["parse"] == []
    [asked_in_dm] = reply_requests(llm_server, persona, "good morning, how are you?")
    assert shown(fake_discord, DM_CHANNEL_ID) == [answer_for(asked_in_dm)]
    assert "message_reference" in posts(fake_discord, DM_CHANNEL_ID)[0]


@pytest.mark.usefixtures("responder")
async def test_discord_redelivered_message_is_answered_once_across_resume_and_restart(
    fake_discord: FakeDiscord,
    llm_server: LLMServer,
    hot_store_url: str | None,
    tmp_path: Path,
) -> None:
    settings = familiar_settings(
        tmp_path / "data", llm_server, redis_url=hot_store_url, discord=discord_section()
    )
    question = mention(fake_discord, "remind me about the dentist")
    async with running_familiar(settings) as familiar:
        await discord_ready(familiar)
        persona = persona_prompt(familiar.app)
        await fake_discord.dispatch("MESSAGE_CREATE", question)
        await fake_discord.wait_for(lambda: len(posts(fake_discord, CHANNEL_ID)) == 1)

        # Discord re-sends the same MESSAGE_CREATE after a RESUME, as it does when acks were lost.
        fake_discord.redeliver_on_resume = [("MESSAGE_CREATE", question)]
        await fake_discord.send_reconnect()
        await fake_discord.wait_for(lambda: fake_discord.resumes == 1)
        engine = familiar.app.built.engine
        await wait_until(lambda: engine.stats["turns.duplicate"] == 1)

    # The whole bot restarts on the same data (or Redis) and Discord delivers the message again.
    async with running_familiar(settings) as familiar:
        await discord_ready(familiar)
        await fake_discord.dispatch("MESSAGE_CREATE", question)
        await fake_discord.dispatch("MESSAGE_CREATE", mention(fake_discord, "and the vet?"))
        await fake_discord.wait_for(lambda: len(posts(fake_discord, CHANNEL_ID)) == 2)
        assert familiar.app.built.engine.stats["turns.duplicate"] == 1

    [vet] = reply_requests(llm_server, persona, "and the vet?")
    [dentist] = reply_requests(llm_server, persona, "remind me about the dentist")
    first, _ = posts(fake_discord, CHANNEL_ID)
    assert str(first["message_reference"]["message_id"]) == question["id"]
    assert shown(fake_discord, CHANNEL_ID) == [answer_for(dentist), answer_for(vet)]


@pytest.mark.usefixtures("responder")
async def test_discord_a_dm_secret_stays_out_of_guild_prompts_and_guild_memory(
    fake_discord: FakeDiscord,
    llm_server: LLMServer,
    hot_store_url: str | None,
    tmp_path: Path,
) -> None:
    settings = familiar_settings(
        tmp_path / "data", llm_server, redis_url=hot_store_url, discord=discord_section()
    )
    async with running_familiar(settings) as familiar:
        await discord_ready(familiar)
        persona = persona_prompt(familiar.app)
        await fake_discord.dispatch("MESSAGE_CREATE", dm(fake_discord, "My locker code is 4417."))
        await fake_discord.dispatch("MESSAGE_CREATE", mention(fake_discord, "I live in Lyon, by the way."))
        await fake_discord.wait_for(lambda: len(posts(fake_discord, CHANNEL_ID)) == 1)
        await fake_discord.wait_for(lambda: len(posts(fake_discord, DM_CHANNEL_ID)) == 1)
        await familiar.settle(answered=2)  # the facts are learned in the background

        await fake_discord.dispatch("MESSAGE_CREATE", dm(fake_discord, "What is my locker code?"))
        await fake_discord.dispatch("MESSAGE_CREATE", mention(fake_discord, "What is my locker code?"))
        await fake_discord.wait_for(lambda: len(posts(fake_discord, CHANNEL_ID)) == 2)
        await fake_discord.wait_for(lambda: len(posts(fake_discord, DM_CHANNEL_ID)) == 2)
        await familiar.settle(answered=4)

        interaction = fake_discord.slash_command("memory", [{"name": "show", "type": 1, "options": []}])
        await fake_discord.dispatch("INTERACTION_CREATE", interaction)
        await fake_discord.wait_for(lambda: len(fake_discord.sent("POST", f"/webhooks/{APP_ID}/")) == 1)

    asked = reply_requests(llm_server, persona, "What is my locker code?")
    [in_dm] = [r for r in asked if "alice:" not in r.last_user_text]
    [in_guild] = [r for r in asked if r is not in_dm]
    assert SECRET.value in in_dm.prompt_text  # learned, and recalled where it was told
    assert SECRET.value not in in_guild.prompt_text  # never in a guild channel's prompt
    assert HOME.value in in_guild.prompt_text
    assert "I live in Lyon" in in_guild.prompt_text  # the channel's own history is there

    [followup] = fake_discord.sent("POST", f"/webhooks/{APP_ID}/{interaction['token']}")
    assert followup.json is not None
    assert followup.json["flags"] & EPHEMERAL_FLAG
    memory = followup.json["content"]  # what the real engine's `memory` command says in a guild
    assert "What I know about you here" in memory
    assert f"home city: {HOME.value}" in memory
    assert SECRET.value not in memory
    assert "Things you told me in private are not shown in this room." in memory


@pytest.mark.usefixtures("responder")
async def test_discord_a_user_over_the_rate_limit_gets_one_polite_line(
    fake_discord: FakeDiscord,
    llm_server: LLMServer,
    hot_store_url: str | None,
    tmp_path: Path,
) -> None:
    settings = familiar_settings(
        tmp_path / "data",
        llm_server,
        redis_url=hot_store_url,
        discord=discord_section(),
        engine={"rate_limit_per_minute": 1},
    )
    async with running_familiar(settings) as familiar:
        await discord_ready(familiar)
        persona = persona_prompt(familiar.app)
        await fake_discord.dispatch("MESSAGE_CREATE", dm(fake_discord, "first message of the minute"))
        await familiar.settle(answered=1)
        await fake_discord.dispatch("MESSAGE_CREATE", dm(fake_discord, "second message, too soon"))
        await fake_discord.wait_for(lambda: len(posts(fake_discord, DM_CHANNEL_ID)) == 2)

    [first] = reply_requests(llm_server, persona, "first message of the minute")
    assert reply_requests(llm_server, persona, "second message, too soon") == []
    answer, refusal = shown(fake_discord, DM_CHANNEL_ID)
    assert answer == answer_for(first)
    assert refusal.startswith("You're sending messages faster than I can answer.")


# ---- Matrix ----------------------------------------------------------------------------------


@pytest.fixture
def bot_account(synapse: SynapseServer) -> RegisteredUser:
    return synapse.register(unique("familiar"), "bot-password")


def matrix_section(server: SynapseServer, bot: RegisteredUser) -> dict[str, Any]:
    return {
        "homeserver": server.url,
        "user_id": bot.user_id,
        "password": bot.password,
        "invite_allowlist": ["*:localhost"],
        "sync_timeout_ms": 2000,
        "sync_backoff_initial": 0.2,
        "sync_backoff_max": 1.0,
        "stream_edit_interval": 0.0,
        "typing_refresh": 5.0,
    }


async def matrix_ready(familiar: RunningFamiliar) -> None:
    async with asyncio.timeout(WAIT_S):
        await familiar.adapter("matrix").ready.wait()


def pill(user_id: str) -> dict[str, Any]:
    return {
        "format": "org.matrix.custom.html",
        "formatted_body": f'<a href="https://matrix.to/#/{user_id}">familiar</a>: hello',
        "m.mentions": {"user_ids": [user_id]},
    }


async def dm_room(user: TestUser, bot_id: str) -> str:
    room_id = await user.create_room(invite=[bot_id], is_direct=True)
    await user.wait_for(room_id, joined(bot_id))
    return room_id


async def group_room(alice: TestUser, bob: TestUser, bot_id: str) -> str:
    room_id = await alice.create_room(invite=[bob.user_id, bot_id])
    await bob.client.join(room_id)
    await alice.wait_for(room_id, joined(bot_id))
    await alice.wait_for(room_id, joined(bob.user_id))
    return room_id


async def answered(
    familiar: RunningFamiliar, user: TestUser, llm: LLMServer, *, room_id: str, event_id: str, text: str
) -> Any:
    """The bot's reply to `event_id`, once it shows the provider's answer to the prompt with `text`."""
    persona = persona_prompt(familiar.app)
    await wait_until(lambda: len(reply_requests(llm, persona, text)) == 1)
    [request] = reply_requests(llm, persona, text)
    matrix = familiar.app.settings.matrix_settings()
    assert matrix is not None
    return await user.wait_answer(room_id, matrix.user_id, event_id, answer_for(request))


@pytest.mark.synapse
@pytest.mark.usefixtures("responder")
async def test_matrix_invite_mention_dm_and_memory_command_through_the_real_engine(
    synapse: SynapseServer,
    bot_account: RegisteredUser,
    llm_server: LLMServer,
    tmp_path: Path,
) -> None:
    bot_id = bot_account.user_id
    settings = familiar_settings(tmp_path / "data", llm_server, matrix=matrix_section(synapse, bot_account))
    async with (
        running_familiar(settings) as familiar,
        user_client(synapse, tmp_path / "alice") as alice,
        user_client(synapse, tmp_path / "bob") as bob,
    ):
        await matrix_ready(familiar)
        persona = persona_prompt(familiar.app)
        room_id = await group_room(alice, bob, bot_id)  # the bot accepts the allowlisted invite
        chatter = await alice.send_text(room_id, "bob, lunch at noon?")
        asked = await alice.send_text(room_id, f"{bot_id}: what is the weather like?", **pill(bot_id))
        in_room = await answered(
            familiar, alice, llm_server, room_id=room_id, event_id=asked, text="what is the weather like?"
        )

        dm_id = await dm_room(alice, bot_id)
        told = await alice.send_text(dm_id, "My locker code is 4417.")
        await answered(
            familiar, alice, llm_server, room_id=dm_id, event_id=told, text="My locker code is 4417."
        )
        await familiar.settle(answered=2)
        command = await alice.send_text(dm_id, "!familiar memory")
        memory = await alice.wait_for(dm_id, replies_to(bot_id, command))

    assert in_room.source["content"]["m.relates_to"]["m.in_reply_to"]["event_id"] == asked
    assert not alice.in_room(room_id, replies_to(bot_id, chatter))
    assert reply_requests(llm_server, persona, "lunch at noon") == []
    assert "What I know about you here" in memory.body
    assert f"locker code: {SECRET.value}" in memory.body
    assert "not shown in this room" not in memory.body  # a DM shows everything


@pytest.mark.synapse
@pytest.mark.usefixtures("responder")
async def test_matrix_restart_on_the_same_data_does_not_answer_old_events_again(
    synapse: SynapseServer,
    bot_account: RegisteredUser,
    llm_server: LLMServer,
    hot_store_url: str | None,
    tmp_path: Path,
) -> None:
    bot_id = bot_account.user_id
    settings = familiar_settings(
        tmp_path / "data",
        llm_server,
        redis_url=hot_store_url,
        matrix=matrix_section(synapse, bot_account),
    )
    async with user_client(synapse, tmp_path / "alice") as alice:
        async with running_familiar(settings) as familiar:
            await matrix_ready(familiar)
            persona = persona_prompt(familiar.app)
            device = familiar.adapter("matrix").device_id
            dm_id = await dm_room(alice, bot_id)
            first = await alice.send_text(dm_id, "Before the restart: hello?")
            await answered(
                familiar, alice, llm_server, room_id=dm_id, event_id=first, text="Before the restart: hello?"
            )
            await familiar.settle(answered=1)

        async with running_familiar(settings) as familiar:
            await matrix_ready(familiar)
            assert familiar.adapter("matrix").device_id == device  # no new device either
            second = await alice.send_text(dm_id, "After the restart: still there?")
            await answered(
                familiar,
                alice,
                llm_server,
                room_id=dm_id,
                event_id=second,
                text="After the restart: still there?",
            )
            await familiar.settle(answered=1)
            assert familiar.app.built.engine.stats["turns.answered"] == 1
        await alice.sync()

    assert len(reply_requests(llm_server, persona, "Before the restart: hello?")) == 1
    assert len(alice.in_room(dm_id, replies_to(bot_id, first))) == 1
    assert len(alice.in_room(dm_id, replies_to(bot_id, second))) == 1
