"""The whole adapter, real `Client.start()` included, against the local Discord fake.

What reaches the fake is exactly what discord.py would send to Discord: these tests assert on the
recorded REST payloads (content, message_reference, allowed_mentions, interaction flags).
"""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest

from adapters.discord.client import INTENT_HELP, TOKEN_HELP, DiscordAdapter, DiscordSetupError
from adapters.discord.doctor import check_discord
from adapters.discord.sink import preview
from adapters.discord.splitting import split_message
from persona.api import CommandResult
from persona.types import TurnOutcome
from tests.adapters.discord.conftest import e2e_settings, run_adapter, wait_until
from tests.adapters.discord.fake_engine import LIMIT_LINE, FakeEngine, Script
from tests.support.discord_fake import (
    ADMIN_ROLE_ID,
    APP_ID,
    BOT_USER,
    CHANNEL_ID,
    DM_CHANNEL_ID,
    EPHEMERAL_FLAG,
    GUILD_ID,
    OPEN_CHANNEL_ID,
    OTHER_BOT,
    USER_ID,
    FakeDiscord,
)

BOT_MENTION = f"<@{BOT_USER['id']}>"


def _posts(fake: FakeDiscord, channel_id: int = CHANNEL_ID) -> list[dict[str, Any]]:
    path = f"/api/v10/channels/{channel_id}/messages"
    return [r.json or {} for r in fake.requests if r.method == "POST" and r.path == path]


def _edits(fake: FakeDiscord, channel_id: int = CHANNEL_ID) -> list[dict[str, Any]]:
    return [r.json or {} for r in fake.sent("PATCH", f"/channels/{channel_id}/messages/")]


def _ask(fake: FakeDiscord, text: str, **kwargs: Any) -> dict[str, Any]:
    return fake.message(content=f"{BOT_MENTION} {text}", mentions=(BOT_USER,), **kwargs)


def _assert_cannot_mass_ping(payload: dict[str, Any]) -> None:
    mentions = payload["allowed_mentions"]
    assert mentions["parse"] == []  # no "everyone" (covers @here too), no "roles", no "users"
    assert mentions.get("roles", []) == []
    assert mentions.get("users", []) in ([], [USER_ID])


async def test_a_guild_mention_is_answered_in_the_channel_as_a_reply(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    question = _ask(fake_discord, "what is the capital of France?")
    await fake_discord.dispatch("MESSAGE_CREATE", question)

    await fake_discord.wait_for(lambda: len(_posts(fake_discord)) == 1)
    [post] = _posts(fake_discord)
    assert post["content"] == "You said: what is the capital of France?"
    assert fake_discord.sent("POST", f"/channels/{CHANNEL_ID}/typing")  # typing shown while working
    assert str(post["message_reference"]["message_id"]) == question["id"]
    _assert_cannot_mass_ping(post)
    [seen] = engine.submitted
    assert (seen.room_id, seen.thread_id, seen.is_dm, seen.mentions_bot) == (
        str(CHANNEL_ID),
        None,
        False,
        True,
    )
    assert (seen.author_id, seen.author_name, seen.event_id) == (str(USER_ID), "alice", question["id"])


async def test_a_dm_is_answered_without_a_mention(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    dm = fake_discord.message(content="hello there", channel_id=DM_CHANNEL_ID, guild=False)
    await fake_discord.dispatch("MESSAGE_CREATE", dm)

    await fake_discord.wait_for(lambda: len(_posts(fake_discord, DM_CHANNEL_ID)) == 1)
    assert _posts(fake_discord, DM_CHANNEL_ID)[0]["content"] == "You said: hello there"
    [seen] = engine.submitted
    assert seen.is_dm
    assert seen.room_id == str(DM_CHANNEL_ID)
    assert seen.scope == "dm"


async def test_unaddressed_guild_messages_are_not_answered_but_open_channels_answer_all(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    await fake_discord.dispatch("MESSAGE_CREATE", fake_discord.message(content="just chatting"))
    await fake_discord.dispatch(
        "MESSAGE_CREATE", fake_discord.message(content="anyone?", channel_id=OPEN_CHANNEL_ID)
    )

    await fake_discord.wait_for(lambda: len(_posts(fake_discord, OPEN_CHANNEL_ID)) == 1)
    assert [m.text for m in engine.submitted] == ["anyone?"]
    assert _posts(fake_discord) == []


async def test_a_long_streamed_reply_is_edited_then_split_with_the_first_part_replying(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    paragraph = "The familiar remembers. " * 40  # about 960 characters
    final = f"{paragraph}\n\n```python\n" + "print('x')\n" * 150 + "```\n\n" + paragraph
    engine.script = lambda _: Script(final=final, partials=(final[:300], final[:1500], final[:2600]))
    question = _ask(fake_discord, "tell me a long story")
    await fake_discord.dispatch("MESSAGE_CREATE", question)

    expected = split_message(final)
    assert len(expected) >= 3
    await fake_discord.wait_for(lambda: len(_posts(fake_discord)) == len(expected))
    await wait_until(lambda: engine.outcomes == [TurnOutcome.ANSWERED])
    posts, edits = _posts(fake_discord), _edits(fake_discord)
    # The first POST is the streaming message (replying to the user); partials then edit it.
    assert str(posts[0]["message_reference"]["message_id"]) == question["id"]
    assert posts[0]["content"] == final[:300]
    assert [e["content"] for e in edits[:2]] == [preview(final[:1500]), preview(final[:2600])]
    # The final text replaces the streamed one in place, then the other parts follow as plain messages.
    assert edits[-1]["content"] == expected[0]
    assert [p["content"] for p in posts[1:]] == expected[1:]
    assert all("message_reference" not in p for p in posts[1:])
    for payload in posts + edits:
        assert len(payload["content"]) <= 2000
        _assert_cannot_mass_ping(payload)
    # The bot's own messages came back through the gateway and were not answered.
    assert len(engine.submitted) == 1


async def test_no_reply_can_ping_everyone_here_or_a_role(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    engine.script = lambda _: Script(
        final=f"@everyone @here <@&{ADMIN_ROLE_ID}> <@{USER_ID}> hi!", partials=("@everyone",)
    )
    await fake_discord.dispatch("MESSAGE_CREATE", _ask(fake_discord, "ping everybody"))

    await wait_until(lambda: engine.outcomes == [TurnOutcome.ANSWERED])
    payloads = _posts(fake_discord) + _edits(fake_discord)
    assert payloads
    assert payloads[-1]["content"].startswith("@everyone @here")
    for payload in payloads:
        _assert_cannot_mass_ping(payload)


async def test_other_bots_webhooks_and_its_own_messages_are_ignored(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    await fake_discord.dispatch("MESSAGE_CREATE", _ask(fake_discord, "from a bot", author=OTHER_BOT))
    await fake_discord.dispatch("MESSAGE_CREATE", _ask(fake_discord, "from myself", author=BOT_USER))
    await fake_discord.dispatch("MESSAGE_CREATE", _ask(fake_discord, "from a webhook", webhook_id=42))
    await fake_discord.dispatch("MESSAGE_CREATE", _ask(fake_discord, "from a human"))

    await fake_discord.wait_for(lambda: len(_posts(fake_discord)) == 1)
    await wait_until(lambda: len(engine.outcomes) == 1)
    assert [m.text for m in engine.submitted] == ["from a human"]


async def test_a_rate_limited_user_gets_the_engines_polite_line(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    engine.limited_authors.add(str(USER_ID))
    await fake_discord.dispatch("MESSAGE_CREATE", _ask(fake_discord, "again"))

    await fake_discord.wait_for(lambda: len(_posts(fake_discord)) == 1)
    await wait_until(lambda: engine.outcomes == [TurnOutcome.LIMITED])
    assert [p["content"] for p in _posts(fake_discord)] == [LIMIT_LINE]


async def test_reconnect_resumes_and_a_redelivered_message_is_answered_once(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    first = _ask(fake_discord, "before the reconnect")
    await fake_discord.dispatch("MESSAGE_CREATE", first)
    await fake_discord.wait_for(lambda: len(_posts(fake_discord)) == 1)

    # Discord re-sends the same MESSAGE_CREATE after the RESUME, as it does when acks were lost.
    fake_discord.redeliver_on_resume = [("MESSAGE_CREATE", first)]
    await fake_discord.send_reconnect()
    await fake_discord.wait_for(lambda: fake_discord.resumes == 1)
    await wait_until(lambda: len(engine.outcomes) == 2)
    assert engine.outcomes == [TurnOutcome.ANSWERED, TurnOutcome.DUPLICATE]

    # A dropped socket: the message sent meanwhile is replayed on RESUME and answered once.
    await fake_discord.drop_connection()
    await fake_discord.dispatch("MESSAGE_CREATE", _ask(fake_discord, "while you were away"))
    await fake_discord.wait_for(lambda: len(_posts(fake_discord)) == 2)
    await fake_discord.wait_for(lambda: fake_discord.resumes == 2)
    assert fake_discord.identifies == 1  # resumed both times, never a fresh session
    assert [p["content"] for p in _posts(fake_discord)] == [
        "You said: before the reconnect",
        "You said: while you were away",
    ]


async def test_slash_commands_are_registered_on_start(
    running: DiscordAdapter, fake_discord: FakeDiscord
) -> None:
    [sync] = fake_discord.sent("PUT", f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands")
    names = {command["name"] for command in sync.json or []}
    assert names == {"ask", "persona", "journal", "config", "memory", "kb",
                     "reminders", "timezone", "checkin", "voice"}  # fmt: skip


async def test_memory_show_is_deferred_and_answered_ephemerally(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    engine.command_results["memory"] = CommandResult(text="You like tea.", ephemeral=True)
    interaction = fake_discord.slash_command("memory", [{"name": "show", "type": 1, "options": []}])
    await fake_discord.dispatch("INTERACTION_CREATE", interaction)

    await fake_discord.wait_for(lambda: len(fake_discord.sent("POST", f"/webhooks/{APP_ID}/")) == 1)
    [callback] = fake_discord.sent("POST", f"/interactions/{interaction['id']}/")
    assert callback.json is not None
    assert callback.json["type"] == 5  # deferred: "thinking..."
    assert callback.json["data"]["flags"] & EPHEMERAL_FLAG
    [followup] = fake_discord.sent("POST", f"/webhooks/{APP_ID}/{interaction['token']}")
    assert followup.json is not None
    assert followup.json["content"] == "You like tea."
    assert followup.json["flags"] & EPHEMERAL_FLAG
    _assert_cannot_mass_ping(followup.json)
    [command] = engine.commands
    assert (command.name, command.context.author_id, command.is_admin) == ("memory", str(USER_ID), False)


async def test_memory_web_asks_for_the_link_and_answers_only_the_asker(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    engine.command_results["memory"] = CommandResult(text="Your page: http://x/me/t", ephemeral=True)
    interaction = fake_discord.slash_command("memory", [{"name": "web", "type": 1, "options": []}])
    await fake_discord.dispatch("INTERACTION_CREATE", interaction)

    await fake_discord.wait_for(lambda: len(fake_discord.sent("POST", f"/webhooks/{APP_ID}/")) == 1)
    [followup] = fake_discord.sent("POST", f"/webhooks/{APP_ID}/{interaction['token']}")
    assert followup.json is not None
    assert followup.json["content"] == "Your page: http://x/me/t"
    assert followup.json["flags"] & EPHEMERAL_FLAG  # a link to someone's memories is theirs alone
    [command] = engine.commands
    assert (command.name, command.args) == ("memory", "web")


async def test_memory_export_arrives_as_a_private_file(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    engine.command_results["export"] = CommandResult(
        text="Everything I know about you.", file_name="memory-export.json", file_data=b'{"facts": []}'
    )
    interaction = fake_discord.slash_command("memory", [{"name": "export", "type": 1, "options": []}])
    await fake_discord.dispatch("INTERACTION_CREATE", interaction)

    await fake_discord.wait_for(lambda: len(fake_discord.sent("POST", f"/webhooks/{APP_ID}/")) == 1)
    [followup] = fake_discord.sent("POST", f"/webhooks/{APP_ID}/")
    assert followup.files == [("memory-export.json", b'{"facts": []}')]
    assert followup.json is not None
    assert followup.json["flags"] & EPHEMERAL_FLAG


async def test_admin_commands_are_refused_to_members_and_run_for_admins(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    options = [
        {"name": "add", "type": 1, "options": [{"name": "text", "type": 3, "value": "Lore\nA dragon."}]}
    ]
    refused = fake_discord.slash_command("kb", options)
    await fake_discord.dispatch("INTERACTION_CREATE", refused)
    await fake_discord.wait_for(
        lambda: len(fake_discord.sent("POST", f"/interactions/{refused['id']}/")) == 1
    )
    [callback] = fake_discord.sent("POST", f"/interactions/{refused['id']}/")
    assert callback.json is not None
    assert callback.json["type"] == 4
    assert "admins" in callback.json["data"]["content"]
    assert callback.json["data"]["flags"] & EPHEMERAL_FLAG

    allowed = fake_discord.slash_command("kb", options, roles=(ADMIN_ROLE_ID,))
    await fake_discord.dispatch("INTERACTION_CREATE", allowed)
    await wait_until(lambda: len(engine.commands) == 1)
    [command] = engine.commands
    assert (command.name, command.args, command.is_admin) == ("kb_add", "Lore\nA dragon.", True)


async def test_ask_streams_into_the_interaction_response(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    interaction = fake_discord.slash_command("ask", [{"name": "prompt", "type": 3, "value": "why?"}])
    await fake_discord.dispatch("INTERACTION_CREATE", interaction)

    await wait_until(lambda: engine.outcomes == [TurnOutcome.ANSWERED])
    [callback] = fake_discord.sent("POST", f"/interactions/{interaction['id']}/")
    assert callback.json is not None
    assert callback.json["type"] == 5
    assert not (callback.json.get("data") or {}).get("flags", 0) & EPHEMERAL_FLAG
    [edit] = fake_discord.sent("PATCH", "/messages/@original")
    assert edit.json is not None
    assert edit.json["content"] == "You said: why?"
    _assert_cannot_mass_ping(edit.json)
    [seen] = engine.submitted
    assert seen.event_id == f"interaction:{interaction['id']}"


async def test_observed_room_context_when_configured(fake_discord: FakeDiscord, engine: FakeEngine) -> None:
    async with run_adapter(e2e_settings(defaults={"observe": True}), engine):
        await fake_discord.dispatch("MESSAGE_CREATE", fake_discord.message(content="the sky is green"))
        await wait_until(lambda: len(engine.observed) == 1)
    assert engine.observed[0].text == "the sky is green"
    assert engine.submitted == []


async def test_auto_thread_opens_a_thread_and_answers_there_without_mentions(
    fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    settings = e2e_settings(channels={CHANNEL_ID: {"auto_thread": True}})
    async with run_adapter(settings, engine):
        question = _ask(fake_discord, "plan my trip")
        await fake_discord.dispatch("MESSAGE_CREATE", question)
        await fake_discord.wait_for(lambda: len(fake_discord.sent("POST", "/threads")) == 1)
        [opened] = fake_discord.sent("POST", "/threads")
        assert opened.path.endswith(f"/channels/{CHANNEL_ID}/messages/{question['id']}/threads")
        assert opened.json["name"] == "plan my trip"
        await wait_until(lambda: len(engine.outcomes) == 1)
        thread_id = int(engine.submitted[0].thread_id or 0)
        assert engine.submitted[0].room_id == str(CHANNEL_ID)
        assert [p["content"] for p in _posts(fake_discord, thread_id)] == ["You said: plan my trip"]

        follow_up = fake_discord.message(content="and the hotel?", channel_id=thread_id)
        await fake_discord.dispatch("MESSAGE_CREATE", follow_up)
        await fake_discord.wait_for(lambda: len(_posts(fake_discord, thread_id)) == 2)
    assert _posts(fake_discord) == []  # nothing in the parent channel itself
    assert [(m.text, m.thread_id) for m in engine.submitted] == [
        ("plan my trip", str(thread_id)),
        ("and the hotel?", str(thread_id)),
    ]


async def test_attachments_are_loaded_inlined_or_refused_with_one_line(
    running: DiscordAdapter, fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    files = (
        fake_discord.attachment("notes.txt", b"buy milk", "text/plain; charset=utf-8"),
        fake_discord.attachment("cat.png", b"\x89PNG fake", "image/png"),
        fake_discord.attachment("huge.png", b"", "image/png", size=50 * 1024 * 1024),
        fake_discord.attachment("tool.exe", b"MZ", "application/octet-stream"),
    )
    dm = fake_discord.message(content="see these", channel_id=DM_CHANNEL_ID, guild=False, attachments=files)
    await fake_discord.dispatch("MESSAGE_CREATE", dm)

    await wait_until(lambda: len(engine.outcomes) == 1)
    text, image, huge, exe = engine.submitted[0].attachments
    assert (text.kind, text.text) == ("text", "buy milk")
    assert (image.kind, image.data) == ("image", b"\x89PNG fake")
    assert (huge.data, huge.note) == (
        None,
        "[attachment huge.png: too large (51200 KiB > 8192 KiB limit), not read]",
    )
    assert (exe.kind, exe.data, exe.note) == ("file", None, "[attachment tool.exe: unsupported file type]")


class _HeardTranscriber:
    async def transcribe(self, data: bytes, *, filename: str, content_type: str) -> str:
        return f"heard {len(data)} bytes of {content_type} in {filename}"


async def test_voice_is_transcribed_only_when_a_transcriber_is_configured(
    fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    def voice_dm() -> dict[str, Any]:
        voice = fake_discord.attachment("voice-message.ogg", b"OggS1234", "audio/ogg")
        return fake_discord.message(content="", channel_id=DM_CHANNEL_ID, guild=False, attachments=(voice,))

    async with run_adapter(e2e_settings(), engine):
        await fake_discord.dispatch("MESSAGE_CREATE", voice_dm())
        await wait_until(lambda: len(engine.outcomes) == 1)
    async with run_adapter(e2e_settings(), engine, transcriber=_HeardTranscriber()):
        await fake_discord.dispatch("MESSAGE_CREATE", voice_dm())
        await wait_until(lambda: len(engine.outcomes) == 2)
    untranscribed, transcribed = (m.attachments[0] for m in engine.submitted)
    assert (untranscribed.kind, untranscribed.text) == ("audio", None)
    assert untranscribed.note == "[voice message voice-message.ogg: no speech-to-text configured]"
    assert transcribed.text == "heard 8 bytes of audio/ogg in voice-message.ogg"


async def test_auto_sharded_client_connects_and_answers(
    fake_discord: FakeDiscord, engine: FakeEngine
) -> None:
    async with run_adapter(e2e_settings(auto_shard=True), engine) as adapter:
        assert isinstance(adapter.client, discord.AutoShardedClient)
        await fake_discord.dispatch("MESSAGE_CREATE", _ask(fake_discord, "sharded?"))
        await fake_discord.wait_for(lambda: len(_posts(fake_discord)) == 1)
    assert _posts(fake_discord)[0]["content"] == "You said: sharded?"


async def test_a_refused_message_content_intent_says_what_to_enable(fake_discord: FakeDiscord) -> None:
    fake_discord.close_identify_with = 4014
    adapter = DiscordAdapter(e2e_settings(), FakeEngine())
    with pytest.raises(DiscordSetupError) as refused:
        await asyncio.wait_for(adapter.run(), 10)
    assert str(refused.value) == INTENT_HELP
    await adapter.close()  # idempotent after run() already closed


async def test_a_rejected_token_says_how_to_fix_it(fake_discord: FakeDiscord) -> None:
    settings = e2e_settings(token="wrong-token")
    with pytest.raises(DiscordSetupError) as refused:
        await asyncio.wait_for(DiscordAdapter(settings, FakeEngine()).run(), 10)
    assert str(refused.value) == TOKEN_HELP
    [check] = await check_discord(settings, api_base=fake_discord.api_base)
    assert not check.ok
    assert "401" in check.message


async def test_doctor_checks_token_intent_and_prints_the_invite(fake_discord: FakeDiscord) -> None:
    checks = await check_discord(e2e_settings(), api_base=fake_discord.api_base)
    assert all(check.ok for check in checks)
    invite = checks[-1].message
    assert f"client_id={APP_ID}" in invite
    assert "scope=bot+applications.commands" in invite
    assert "permissions=" in invite

    fake_discord.app_flags = 0
    checks = await check_discord(e2e_settings(), api_base=fake_discord.api_base)
    intent = [c for c in checks if "intent" in c.message]
    assert [c.ok for c in intent] == [False]
    assert "MESSAGE CONTENT INTENT" in intent[0].message
