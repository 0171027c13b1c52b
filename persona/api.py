"""The engine's face towards adapters: submit a message, run a command.

Adapters depend on this module and `persona.types` only. Every platform command surface
(Discord slash commands, Matrix `!familiar …`, terminal `/…`) maps onto `Command`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from persona.types import IncomingMessage, ReplySink, TurnOutcome

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


class Engine(Protocol):
    """What every adapter drives."""

    async def submit(self, message: IncomingMessage, sink: ReplySink) -> TurnOutcome:
        """Handle one addressed message: dedup, queue per session, gather, generate, reply.

        Returns once this message's fate is known (answered, merged into the next turn,
        duplicate, limited, failed). Never raises for provider or store failures.
        """
        ...

    async def command(self, command: Command) -> CommandResult:
        """Run a user command. Unknown or forbidden commands get a clear text, never raise."""
        ...

    async def observe(self, message: IncomingMessage) -> None:
        """Record a message the bot saw but was not addressed by (room context for history)."""
        ...
