"""Trigger rules, translation to the engine's message, and settings inheritance (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from adapters.discord.settings import DiscordSettings, ResolvedPolicy, RoomPolicy
from adapters.discord.translate import MessageFacts, clean_text, to_incoming
from adapters.discord.triggers import Decision, decide

BOT = 1
ALICE = 2
GUILD = 10
CHANNEL = 20
THREAD = 30

GUILD_MESSAGE = MessageFacts(
    message_id=100,
    channel_id=CHANNEL,
    guild_id=GUILD,
    author_id=ALICE,
    author_name="Alice",
    content="hello everyone",
    created_at=datetime(2026, 11, 24, tzinfo=UTC),
)
MENTION = replace(GUILD_MESSAGE, content=f"<@{BOT}> hi", mentioned_user_ids=frozenset({BOT}))
DM = replace(GUILD_MESSAGE, guild_id=None, channel_id=55)
MENTION_POLICY = ResolvedPolicy()


def _decide(
    facts: MessageFacts, policy: ResolvedPolicy = MENTION_POLICY, allow_bots: bool = False
) -> Decision:
    return decide(facts, bot_user_id=BOT, policy=policy, allow_bots=allow_bots)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (GUILD_MESSAGE, Decision.IGNORE),
        (MENTION, Decision.ANSWER),
        (replace(GUILD_MESSAGE, reply_to_id=7, reply_to_author_id=BOT), Decision.ANSWER),
        (replace(GUILD_MESSAGE, reply_to_id=7, reply_to_author_id=ALICE), Decision.IGNORE),
        (DM, Decision.ANSWER),
        (replace(GUILD_MESSAGE, channel_id=THREAD, parent_id=CHANNEL, thread_owner_id=BOT), Decision.ANSWER),
        (
            replace(GUILD_MESSAGE, channel_id=THREAD, parent_id=CHANNEL, thread_owner_id=ALICE),
            Decision.IGNORE,
        ),
        (replace(MENTION, author_id=BOT), Decision.IGNORE),
        (replace(MENTION, author_is_bot=True), Decision.IGNORE),
        (replace(MENTION, webhook_id=5), Decision.IGNORE),
        (replace(DM, author_is_bot=True), Decision.IGNORE),
        (replace(MENTION, is_system=True), Decision.IGNORE),
    ],
    ids=[
        "plain",
        "mention",
        "reply-to-bot",
        "reply-to-other",
        "dm",
        "own-thread",
        "other-thread",
        "self",
        "other-bot",
        "webhook",
        "bot-dm",
        "system",
    ],
)
def test_default_triggers(facts: MessageFacts, expected: Decision) -> None:
    assert _decide(facts) is expected


def test_open_channels_answer_everything_and_off_channels_nothing_but_dms_always() -> None:
    assert _decide(GUILD_MESSAGE, ResolvedPolicy(trigger="open")) is Decision.ANSWER
    assert _decide(MENTION, ResolvedPolicy(trigger="off")) is Decision.IGNORE
    assert _decide(DM, ResolvedPolicy(trigger="off")) is Decision.ANSWER


def test_bots_are_answered_only_when_allowed_and_never_itself() -> None:
    assert _decide(replace(MENTION, author_is_bot=True), allow_bots=True) is Decision.ANSWER
    assert _decide(replace(MENTION, author_id=BOT, author_is_bot=True), allow_bots=True) is Decision.IGNORE


def test_unaddressed_messages_are_observed_when_configured() -> None:
    assert _decide(GUILD_MESSAGE, ResolvedPolicy(observe=True)) is Decision.OBSERVE
    assert (
        _decide(replace(GUILD_MESSAGE, author_is_bot=True), ResolvedPolicy(observe=True)) is Decision.IGNORE
    )


def test_clean_text_strips_the_bot_and_names_other_mentions() -> None:
    facts = replace(
        GUILD_MESSAGE,
        content=f"<@{BOT}> ask <@!{ALICE}> and <@&77> in <#{CHANNEL}> about <@999>",
        user_names={ALICE: "Alice"},
        role_names={77: "mods"},
        channel_names={CHANNEL: "general"},
    )
    assert clean_text(facts, bot_user_id=BOT) == "ask @Alice and @mods in #general about <@999>"


def test_a_thread_message_belongs_to_its_parent_room() -> None:
    facts = replace(MENTION, channel_id=THREAD, parent_id=CHANNEL, reply_to_id=99, reply_to_author_id=BOT)
    message = to_incoming(
        facts, bot_user_id=BOT, policy=ResolvedPolicy(persona="bard", per_user_session=True)
    )
    assert (message.room_id, message.thread_id) == (str(CHANNEL), str(THREAD))
    assert (message.text, message.mentions_bot, message.reply_to, message.reply_to_bot) == (
        "hi",
        True,
        "99",
        True,
    )
    assert (message.persona, message.per_user_session, message.platform) == ("bard", True, "discord")
    assert message.session.user_id == str(ALICE)


def test_a_dm_is_its_own_private_scope() -> None:
    message = to_incoming(DM, bot_user_id=BOT, policy=ResolvedPolicy())
    assert (message.is_dm, message.room_id, message.scope) == (True, "55", "dm")
    assert message.event_id == "100"


def _settings(**kwargs: object) -> DiscordSettings:
    return DiscordSettings.model_validate({"token": SecretStr("t"), **kwargs})


def test_policy_inherits_guild_then_channel_then_thread() -> None:
    settings = _settings(
        defaults=RoomPolicy(persona="default-persona"),
        guilds={GUILD: RoomPolicy(persona="guild-persona", trigger="open")},
        channels={CHANNEL: RoomPolicy(auto_thread=True)},
        threads={THREAD: RoomPolicy(persona="thread-persona", trigger="mention")},
    )
    channel = settings.policy_for(guild_id=GUILD, channel_id=CHANNEL)
    assert (channel.persona, channel.trigger, channel.auto_thread) == ("guild-persona", "open", True)
    thread = settings.policy_for(guild_id=GUILD, channel_id=CHANNEL, thread_id=THREAD)
    assert (thread.persona, thread.trigger, thread.auto_thread) == ("thread-persona", "mention", True)
    elsewhere = settings.policy_for(guild_id=99, channel_id=98)
    assert (elsewhere.persona, elsewhere.trigger, elsewhere.auto_thread) == (
        "default-persona",
        "mention",
        False,
    )


def test_settings_read_from_plain_config_values() -> None:
    settings = _settings(
        token="secret", guilds={"10": {"trigger": "off"}}, admin_user_ids=["5"], admin_role_ids=[6]
    )
    assert settings.policy_for(guild_id=10, channel_id=1).trigger == "off"
    assert settings.is_admin(5, [])
    assert settings.is_admin(1, [6])
    assert not settings.is_admin(1, [7])
    assert "secret" not in repr(settings)
