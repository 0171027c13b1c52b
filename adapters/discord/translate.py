"""discord.py objects -> the engine's neutral `IncomingMessage`.

`facts_from_message` is the only place that reads a `discord.Message`; everything after it works on
the frozen `MessageFacts`, so trigger rules and translation are plain functions with plain tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import discord

from adapters.discord.settings import ResolvedPolicy
from persona.inbound import normalise
from persona.types import Attachment, IncomingMessage

PLATFORM = "discord"
_CONVERSATIONAL_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageFacts:
    """What the adapter needs to know about one Discord message, and nothing platform-bound."""

    message_id: int
    channel_id: int  # the channel the message was posted in (a thread's own id for threads)
    guild_id: int | None  # None in DMs
    parent_id: int | None = None  # the thread's parent channel when posted in a thread
    thread_owner_id: int | None = None
    author_id: int
    author_name: str
    author_is_bot: bool = False
    webhook_id: int | None = None
    is_system: bool = False  # joins, pins, boosts...: never conversation
    content: str
    mentioned_user_ids: frozenset[int] = frozenset()
    user_names: Mapping[int, str] = field(default_factory=dict)
    role_names: Mapping[int, str] = field(default_factory=dict)
    channel_names: Mapping[int, str] = field(default_factory=dict)
    reply_to_id: int | None = None
    reply_to_author_id: int | None = None
    created_at: datetime

    @property
    def is_dm(self) -> bool:
        return self.guild_id is None

    @property
    def in_thread(self) -> bool:
        return self.parent_id is not None

    @property
    def room_channel_id(self) -> int:
        """The room in engine terms: a thread belongs to its parent channel's room."""
        return self.parent_id if self.parent_id is not None else self.channel_id


def facts_from_message(message: discord.Message) -> MessageFacts:
    channel = message.channel
    thread = channel if isinstance(channel, discord.Thread) else None
    reference = message.reference
    replied = _replied_message(message)
    return MessageFacts(
        message_id=message.id,
        channel_id=channel.id,
        guild_id=message.guild.id if message.guild is not None else None,
        parent_id=thread.parent_id if thread is not None else None,
        thread_owner_id=thread.owner_id if thread is not None else None,
        author_id=message.author.id,
        author_name=message.author.display_name,
        author_is_bot=message.author.bot,
        webhook_id=message.webhook_id,
        is_system=message.type not in _CONVERSATIONAL_TYPES,
        content=message.content,
        mentioned_user_ids=frozenset(message.raw_mentions),
        user_names={user.id: user.display_name for user in message.mentions},
        role_names={role.id: role.name for role in message.role_mentions},
        channel_names={ch.id: getattr(ch, "name", str(ch.id)) for ch in message.channel_mentions},
        reply_to_id=reference.message_id if reference is not None else None,
        reply_to_author_id=replied.author.id if replied is not None else None,
        created_at=message.created_at,
    )


def _replied_message(message: discord.Message) -> discord.Message | None:
    reference = message.reference
    if reference is None:
        return None
    if isinstance(reference.resolved, discord.Message):
        return reference.resolved
    return reference.cached_message


def clean_text(facts: MessageFacts, *, bot_user_id: int) -> str:
    """The message text for the prompt: the bot's own mention removed, other mentions readable."""
    text = re.sub(rf"<@!?{bot_user_id}>[ \t]?", "", facts.content)

    def user(match: re.Match[str]) -> str:
        name = facts.user_names.get(int(match.group(1)))
        return f"@{name}" if name is not None else match.group(0)

    def role(match: re.Match[str]) -> str:
        name = facts.role_names.get(int(match.group(1)))
        return f"@{name}" if name is not None else match.group(0)

    def channel(match: re.Match[str]) -> str:
        name = facts.channel_names.get(int(match.group(1)))
        return f"#{name}" if name is not None else match.group(0)

    text = re.sub(r"<@!?(\d+)>", user, text)
    text = re.sub(r"<@&(\d+)>", role, text)
    text = re.sub(r"<#(\d+)>", channel, text)
    return text.strip()


def mentions_bot(facts: MessageFacts, *, bot_user_id: int) -> bool:
    return bot_user_id in facts.mentioned_user_ids


def to_incoming(
    facts: MessageFacts,
    *,
    bot_user_id: int,
    policy: ResolvedPolicy,
    attachments: tuple[Attachment, ...] = (),
    thread_id: int | None = None,
) -> IncomingMessage:
    """Translate one message, normalised (`persona.inbound`). `thread_id` overrides the thread
    (an auto-thread just opened)."""
    if thread_id is None and facts.in_thread:
        thread_id = facts.channel_id
    message = IncomingMessage(
        platform=PLATFORM,
        room_id=str(facts.room_channel_id),
        thread_id=str(thread_id) if thread_id is not None else None,
        author_id=str(facts.author_id),
        author_name=facts.author_name,
        text=clean_text(facts, bot_user_id=bot_user_id),
        event_id=str(facts.message_id),
        is_dm=facts.is_dm,
        mentions_bot=mentions_bot(facts, bot_user_id=bot_user_id),
        reply_to=str(facts.reply_to_id) if facts.reply_to_id is not None else None,
        reply_to_bot=facts.reply_to_author_id == bot_user_id,
        attachments=attachments,
        timestamp=facts.created_at,
        persona=policy.persona,
        model=policy.model,
        per_user_session=policy.per_user_session,
    )
    return normalise(message)
