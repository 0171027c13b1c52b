"""Pure trigger rules: is the bot addressed by this message, and which conversation is it in?"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from adapters.matrix.settings import ResolvedPolicy

COMMAND_PREFIX = "!familiar"


@dataclass(frozen=True, slots=True, kw_only=True)
class Relations:
    """What an event's `m.relates_to` says, read once."""

    thread_root: str | None = None
    reply_to: str | None = None  # a real reply (not a thread's fallback reply)
    replaces: str | None = None  # an edit of another event


def read_relations(content: dict[str, Any]) -> Relations:
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict):
        return Relations()
    rel_type = relates.get("rel_type")
    in_reply = relates.get("m.in_reply_to")
    reply_to = in_reply.get("event_id") if isinstance(in_reply, dict) else None
    if rel_type == "m.replace":
        return Relations(replaces=_str_or_none(relates.get("event_id")))
    if rel_type == "m.thread":
        falling_back = bool(relates.get("is_falling_back", False))
        return Relations(
            thread_root=_str_or_none(relates.get("event_id")),
            reply_to=None if falling_back else _str_or_none(reply_to),
        )
    return Relations(reply_to=_str_or_none(reply_to))


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def mentions_user(content: dict[str, Any], *, user_id: str, display_name: str | None, body: str) -> bool:
    """Intentional mentions (`m.mentions`), a pill link, or the display name as a whole word."""
    mentions = content.get("m.mentions")
    if isinstance(mentions, dict) and user_id in (mentions.get("user_ids") or []):
        return True
    formatted = content.get("formatted_body")
    if isinstance(formatted, str) and f"https://matrix.to/#/{user_id}" in formatted:
        return True
    if user_id in body:
        return True
    # The display name as a whole word; without one, the localpart (what clients then show).
    name = display_name or user_id[1:].partition(":")[0]
    return re.search(rf"(?<![\w@]){re.escape(name)}(?!\w)", body, re.IGNORECASE) is not None


def strip_reply_fallback(body: str) -> str:
    """Old clients quote the replied-to message as `> ` lines first; that is not the user's text."""
    lines = body.splitlines()
    if not lines or not lines[0].startswith("> "):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    return "\n".join(lines[index:]).lstrip("\n")


def is_addressed(
    *,
    policy: ResolvedPolicy,
    is_dm: bool,
    mentions_bot: bool,
    reply_to_bot: bool,
    in_bot_thread: bool,
) -> bool:
    if policy.trigger == "off":
        return False
    if policy.trigger == "open" or is_dm:
        return True
    return mentions_bot or reply_to_bot or in_bot_thread


def parse_command(body: str) -> tuple[str, str] | None:
    """`!familiar kb search tea` -> ("kb_search", "tea"); None when the text is no command."""
    stripped = body.strip()
    if not stripped.lower().startswith(COMMAND_PREFIX):
        return None
    rest = stripped[len(COMMAND_PREFIX) :]
    if rest and not rest[0].isspace():
        return None
    words = rest.split(maxsplit=1)
    if not words:
        return ("help", "")
    name = words[0].lower()
    args = words[1] if len(words) > 1 else ""
    if name == "kb":
        sub_words = args.split(maxsplit=1)
        sub = sub_words[0].lower() if sub_words else ""
        sub_args = sub_words[1] if len(sub_words) > 1 else ""
        return (f"kb_{sub}", sub_args) if sub in {"search", "add"} else ("help", "")
    return (name, args.strip())
