"""The tool protocol: a name, a description, JSON-schema parameters and an async call with the
turn's context (who asked, where, and what they may see)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from memory.visibility import Visibility
from persona.personas import PersonaSpec
from persona.types import IncomingMessage


class ToolError(Exception):
    """A tool could not do what was asked. The message is one line handed back to the model
    (never a traceback, never a secret); the turn goes on."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolContext:
    """The turn a call belongs to: everything a tool may act on is the author's own."""

    origin: IncomingMessage  # the message answered (the last one of a merged turn)
    visibility: Visibility  # the author's identities and place: the rule their records are read by
    persona: PersonaSpec
    now: datetime

    @property
    def owner(self) -> str:
        return self.origin.identity

    @property
    def room_scope(self) -> str:
        return f"room:{self.origin.platform}:{self.origin.room_id}"


class Tool(Protocol):
    """One callable tool. `call` returns text for the model, or raises `ToolError`."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def parameters(self) -> dict[str, Any]: ...

    @property
    def available(self) -> bool:
        """False while whatever serves the tool is down: it is then not offered."""
        ...

    async def call(self, arguments: dict[str, Any], context: ToolContext) -> str: ...


def string_argument(arguments: dict[str, Any], key: str, *, required: bool = True) -> str:
    """A string argument, stripped; a clear `ToolError` when a required one is missing."""
    value = arguments.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ToolError(f"missing argument {key!r}")
        return ""
    if not isinstance(value, str | int | float):
        raise ToolError(f"argument {key!r} must be text")
    return str(value).strip()


def schema(properties: dict[str, dict[str, Any]], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}
