"""Helpers for learning tests: a scripted LLMProvider (our own protocol), turns, a settable clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memory.journal_files import JournalFiles
from memory.records import JournalEntry, Visibility
from persona.hooks import CompletedTurn
from persona.providers.base import ChatRequest, ChatResult, ProviderError, TextCallback, Usage
from persona.types import IncomingMessage

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ALICE = "terminal:alice"
BOB = "terminal:bob"
GROUP = "room:terminal:lounge"


class ScriptedProvider:
    """Answers each chat call with the next canned reply (text or an exception to raise)."""

    name = "scripted"

    def __init__(self, replies: Sequence[str | ProviderError] = ()) -> None:
        self.replies: list[str | ProviderError] = list(replies)
        self.requests: list[ChatRequest] = []

    def queue(self, *replies: str | ProviderError) -> None:
        self.replies.extend(replies)

    async def chat(self, request: ChatRequest, on_text: TextCallback | None = None) -> ChatResult:
        self.requests.append(request)
        if not self.replies:
            raise AssertionError(f"unexpected LLM call: {request.messages[-1].content[:200]}")
        reply = self.replies.pop(0)
        if isinstance(reply, ProviderError):
            raise reply
        return ChatResult(text=reply, usage=Usage(), provider=self.name, model=request.model)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def close(self) -> None:
        return None


def facts_reply(*facts: dict[str, Any], dossier: str | None = None) -> str:
    return json.dumps({"facts": list(facts), "dossier": dossier})


def fact(attribute: str, value: str, kind: str = "identity", **extra: Any) -> dict[str, Any]:
    return {
        "subject": "user",
        "attribute": attribute,
        "value": value,
        "kind": kind,
        "confidence": 0.9,
    } | extra


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Place:
    owner: str = ALICE
    dm: bool = True
    room: str = "lounge"
    room_shared: bool = False
    extra_owners: frozenset[str] = field(default_factory=frozenset)

    @property
    def scope(self) -> str:
        return "dm" if self.dm else f"room:terminal:{self.room}"

    @property
    def visibility(self) -> Visibility:
        return Visibility(
            owners=frozenset({self.owner}) | self.extra_owners, scope=self.scope, room_shared=self.room_shared
        )


DM = Place()
IN_GROUP = Place(dm=False)


def turn(
    text: str,
    *,
    event_id: str,
    at: datetime = T0,
    place: Place = DM,
    reply: str = "Noted.",
    persona: str = "familiar",
) -> CompletedTurn:
    author = place.owner.split(":", 1)[1]
    message = IncomingMessage(
        platform="terminal",
        room_id=f"dm-{author}" if place.dm else place.room,
        author_id=author,
        author_name=author.capitalize(),
        text=text,
        event_id=event_id,
        is_dm=place.dm,
        timestamp=at,
    )
    return CompletedTurn(
        messages=(message,),
        reply_text=reply,
        reply_event_id=f"{event_id}:reply",
        persona=persona,
        session=str(message.session),
        visibility=place.visibility,
        finished_at=at,
    )


class RecordingFiles(JournalFiles):
    """Real Markdown files, plus an event so a test can await the scheduler's write."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.written = asyncio.Event()

    async def append(self, entry: JournalEntry) -> None:
        await super().append(entry)
        self.written.set()
