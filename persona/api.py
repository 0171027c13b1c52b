"""The engine's face towards adapters: admit a message, submit it, run a command.

Adapters depend on this module and `persona.types` only. Every platform command surface
(Discord slash commands, Matrix `!familiar …`, terminal `/…`) maps onto `Command`.

The gate comes first: an adapter asks `admit` before any expensive work for a message
(downloading attachments, speech-to-text, opening a thread), and does that work only for an
admitted one, then `submit`s it. A re-delivered or rate-limited voice message is never
transcribed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from persona.types import IncomingMessage, Reply, ReplySink, SessionKey, TurnOutcome

CommandName = Literal[
    "help",
    "memory",  # show what is known about the asker
    "export",  # all of it as JSON (attachment)
    "forget",  # args: "" = everything, else a phrase
    "persona",  # args: "" = show current/available, else bind a persona to this room/thread
    "journal",  # today's journal entries visible here
    "kb_search",  # args: query
    "kb_add",  # admin; args: text (first line title)
    "link",  # args: "" = issue a one-time code, else redeem a code
    "unlink",
    "config",  # admin; args: "key value" or "" to show
    "reminders",  # args: "" = list the asker's reminders, "cancel ID"
    "checkin",  # args: "on", "off", "at 08:30", "" = show
    "timezone",  # args: an IANA zone name, "" = show
    "voice",  # args: "on", "off", "" = show (voice replies to voice messages)
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """A user command, already parsed by the adapter; `context` says who and where."""

    name: CommandName
    args: str
    context: IncomingMessage  # text may be empty; carries author, room, is_dm, event id
    is_admin: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandResult:
    text: str  # Markdown
    ephemeral: bool = False  # private answers (memory, export) where the platform can
    file_name: str | None = None  # e.g. "memory-export.json"
    file_data: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Admission:
    """The engine's answer to `admit`: whether to go on, and with which persona, model, session."""

    admitted: bool
    # When not admitted: DUPLICATE, LIMITED, FAILED (shutting down), or ANSWERED (a resumed event
    # whose turn was committed before its process died: `reply` is that committed reply).
    outcome: TurnOutcome | None = None
    reply: Reply | None = None  # when not admitted with a line to give: deliver it, nothing else
    persona: str  # the persona that will answer here (bindings, then the room's configuration)
    model: str  # the model it answers with (the room's model binding replaces the persona's)
    session: SessionKey


class Engine(Protocol):
    """What every adapter drives."""

    async def admit(self, message: IncomingMessage) -> Admission:
        """Claim the event and apply the author's rate limit and quota, before any work for it.

        Call it as soon as the message is translated and known to be addressed, then do the
        expensive part (attachments, speech-to-text, threads) only when `admitted`. An admitted
        message must then be `submit`ted with the same event id (its claim is renewed until
        then; one never submitted is released after a while). Never raises.
        """
        ...

    async def submit(self, message: IncomingMessage, sink: ReplySink) -> TurnOutcome:
        """Handle one addressed message: queue per session, gather, generate, reply.

        A message not admitted before is admitted here first (a refusal's polite line goes to
        `sink`). Returns once this message's fate is known (answered, merged into the next
        turn, duplicate, limited, failed, interrupted by a stop). Never raises for provider or
        store failures.
        """
        ...

    async def command(self, command: Command) -> CommandResult:
        """Run a user command. Unknown or forbidden commands get a clear text, never raise."""
        ...

    async def observe(self, message: IncomingMessage) -> None:
        """Record a message the bot saw but was not addressed by (room context for history)."""
        ...
