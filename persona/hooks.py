"""Post-turn work: what happens after the reply is delivered, off the reply path.

The engine records one job per hook for every answered turn in the outbox, together with the
turn's history, before the reply is delivered; the jobs run on its supervised background queue,
keyed by the turn's event id, retried with backoff, drained on shutdown and resumed at the next
start when a stop or a kill cut them short. A hook must therefore be idempotent per turn key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from memory.records import Visibility
from persona.types import IncomingMessage


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolRecord:
    """One tool call of a turn and its result as the model read it (fenced), kept in history."""

    call_id: str
    name: str
    arguments: str
    output: str
    is_error: bool
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CompletedTurn:
    messages: tuple[IncomingMessage, ...]  # the user messages answered (several when merged)
    reply_text: str  # what the persona said ("" when the turn failed)
    reply_event_id: str  # provenance id of the persona's reply
    persona: str
    session: str  # str(SessionKey)
    visibility: Visibility  # the asker's visibility in this place
    finished_at: datetime
    context: str = ""  # the persona's last line in this session before these messages, if any
    tools: tuple[ToolRecord, ...] = ()  # the tool calls made while answering, in order

    @property
    def key(self) -> str:
        """Idempotency key: the last answered event."""
        return self.messages[-1].event_id

    @property
    def owner(self) -> str:
        return self.messages[-1].identity

    @property
    def scope(self) -> str:
        return self.messages[-1].scope


class PostTurnHook(Protocol):
    name: str

    async def after_turn(self, turn: CompletedTurn) -> None:
        """Learn from one turn. Must be idempotent for the same `turn.key`; may raise to be retried."""
        ...
