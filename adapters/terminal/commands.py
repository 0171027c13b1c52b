"""Slash commands typed in the terminal, parsed into the engine's command names (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from persona.api import CommandName

HELP_TEXT = """\
Commands:
  /memory               what I remember about you
  /memory export        everything as JSON (written to a file)
  /memory web           a one-time link to a page where you can see and delete it
  /forget [phrase]      forget everything, or what matches a phrase
  /persona [name]       show personas, or switch this conversation to one
  /journal              today's journal
  /kb search QUERY      search the knowledgebase
  /link [code]          link your identities across platforms
  /unlink               undo a link
  /reminders            your reminders; /reminders cancel ID
  /timezone [Area/City] show or set the time zone reminders are read in
  /checkin on|off|at HH:MM  a daily check-in
  /voice on|off         voice replies to voice messages
  /help                 this list
  /quit                 leave (Ctrl-D works too)"""

_SIMPLE: dict[str, CommandName] = {
    "/memory": "memory",
    "/forget": "forget",
    "/persona": "persona",
    "/journal": "journal",
    "/link": "link",
    "/unlink": "unlink",
    "/config": "config",
    "/help": "help",
    "/reminders": "reminders",
    "/timezone": "timezone",
    "/checkin": "checkin",
    "/voice": "voice",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedCommand:
    name: CommandName | None  # None: a local command (quit) or unknown
    args: str
    local: str | None = None  # "quit", "unknown"


def parse_command(line: str) -> ParsedCommand | None:
    """None when the line is an ordinary message rather than a command."""
    text = line.strip()
    if not text.startswith("/") or text.startswith("//"):
        return None
    head, _, rest = text.partition(" ")
    head = head.lower()
    rest = rest.strip()
    if head in {"/quit", "/exit"}:
        return ParsedCommand(name=None, args="", local="quit")
    if head == "/memory" and rest.lower().startswith("export"):
        return ParsedCommand(name="export", args="")
    if head == "/kb":
        sub, _, query = rest.partition(" ")
        if sub.lower() == "search":
            return ParsedCommand(name="kb_search", args=query.strip())
        if sub.lower() == "add":
            return ParsedCommand(name="kb_add", args=query.strip())
        return ParsedCommand(name=None, args=rest, local="unknown")
    if head in _SIMPLE:
        return ParsedCommand(name=_SIMPLE[head], args=rest)
    return ParsedCommand(name=None, args=text, local="unknown")
