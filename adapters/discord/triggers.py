"""Whether the bot answers a message, only records it as room context, or ignores it. Pure."""

from __future__ import annotations

import enum

from adapters.discord.settings import ResolvedPolicy
from adapters.discord.translate import MessageFacts


class Decision(enum.Enum):
    ANSWER = "answer"
    OBSERVE = "observe"  # not addressed: record as room context only
    IGNORE = "ignore"


def decide(facts: MessageFacts, *, bot_user_id: int, policy: ResolvedPolicy, allow_bots: bool) -> Decision:
    if _never_answered(facts, bot_user_id=bot_user_id, allow_bots=allow_bots):
        return Decision.IGNORE
    if is_addressed(facts, bot_user_id=bot_user_id, policy=policy):
        return Decision.ANSWER
    return Decision.OBSERVE if policy.observe and not facts.is_dm else Decision.IGNORE


def _never_answered(facts: MessageFacts, *, bot_user_id: int, allow_bots: bool) -> bool:
    # Our own messages come back through the gateway; answering them would loop forever.
    if facts.author_id == bot_user_id or facts.is_system:
        return True
    from_machine = facts.author_is_bot or facts.webhook_id is not None
    return from_machine and not allow_bots


def is_addressed(facts: MessageFacts, *, bot_user_id: int, policy: ResolvedPolicy) -> bool:
    if facts.is_dm:
        return True
    if policy.trigger == "off":
        return False
    if policy.trigger == "open":
        return True
    if facts.in_thread and facts.thread_owner_id == bot_user_id:
        return True
    return bot_user_id in facts.mentioned_user_ids or facts.reply_to_author_id == bot_user_id
