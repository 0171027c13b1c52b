"""Value types for everything remembered. Every record carries owner, scope and provenance.

Identities are `platform:user_id` strings. A person may link several identities; queries take
the set of a person's identities (`owners`), so unlinking separates memories again for free.
Scopes are `dm` (said in a direct conversation with its owner) or `room:<platform>:<room_id>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

# Re-exported: records and who may see them travel together (the rule lives in memory.visibility).
from memory.visibility import DM_SCOPE, Visibility

__all__ = [
    "DM_SCOPE",
    "Dossier",
    "DraftLine",
    "Fact",
    "FactKind",
    "JournalDraft",
    "JournalEntry",
    "KBEntry",
    "KBKind",
    "MemoryHit",
    "MemoryItem",
    "MemoryQuery",
    "Role",
    "Turn",
    "TurnKind",
    "Visibility",
]

Role = Literal["user", "assistant"]
# A memory is a turn as said, or a statement derived from turns (a learned fact, something the
# persona told or promised): derived items are keys that lead back to their source turns.
MemoryKind = Literal["turn", "derived"]
FactKind = Literal["identity", "preference", "constraint", "relationship", "event", "task"]
KBKind = Literal["constant", "triggered", "retrieved"]
# A history row is a message, or a tool call the persona made in a turn and what it returned
# (kept as the caller's own records, never shown as conversation to anyone).
TurnKind = Literal["message", "tool_call", "tool_result"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    """One message in a session's recent history (user or persona)."""

    event_id: str  # source event id (the persona's reply uses "<user event id>:reply")
    session: str  # str(SessionKey)
    role: Role
    owner: str  # identity of the human this exchange belongs to
    author_name: str
    text: str
    created_at: datetime
    scope: str
    platform: str
    room_id: str
    thread_id: str | None = None
    persona: str = ""
    kind: TurnKind = "message"


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryItem:
    """One long-term (episodic) memory: usually one turn, searchable by meaning and words."""

    id: str
    owner: str
    scope: str
    text: str
    created_at: datetime
    source_ids: tuple[str, ...]
    role: Role = "user"
    platform: str = ""
    room_id: str = ""
    thread_id: str | None = None
    persona: str = ""
    # What this turn answered (the other side's previous line), embedded with it but not stored
    # as its text: "Flinkwerk, they make routing software" is about a new job only in context.
    context: str = ""
    kind: MemoryKind = "turn"


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryQuery:
    text: str
    visibility: Visibility
    now: datetime
    k: int = 8
    # Who the conversation is between, so a question's subject can point at one side's lines:
    # "what did I say" / the asker's name at the person's, "what did you say" / the persona's
    # name at the persona's.
    asker_name: str = ""
    persona_name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryHit:
    item: MemoryItem
    score: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Fact:
    """A durable fact about a person, with provenance. Superseded facts are kept, marked."""

    id: str
    owner: str
    scope: str
    subject: str  # usually "user"
    attribute: str  # e.g. "api_key", "diet", "name_to_avoid"
    value: str
    kind: FactKind
    confidence: float
    source_ids: tuple[str, ...]
    valid_from: datetime  # when it became true (the message time)
    recorded_at: datetime
    superseded_by: str | None = None
    superseded_at: datetime | None = None

    @property
    def current(self) -> bool:
        return self.superseded_by is None


@dataclass(frozen=True, slots=True, kw_only=True)
class Dossier:
    """A short running summary of a person, refreshed incrementally, within a token budget."""

    owner: str
    scope: str
    summary: str
    updated_at: datetime
    source_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalEntry:
    id: str
    persona: str
    day: str  # YYYY-MM-DD in the persona's timezone
    kind: Literal["entry", "reflection"]
    text: str
    scope: str
    created_at: datetime
    owner: str | None = None  # the person it is about, when it is about one conversation
    source_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DraftLine:
    """One line of a conversation waiting to be journaled."""

    author: str
    text: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalDraft:
    """A conversation noted for the journal but not yet written: kept so a restart loses none."""

    id: str  # one per conversation: a session opens a new draft while its last one is written
    persona: str
    session: str
    scope: str
    last_at: datetime
    owners: tuple[str, ...] = ()  # everyone who spoke
    lines: tuple[DraftLine, ...] = ()  # the most recent lines only
    source_ids: tuple[str, ...] = ()  # every event noted, including those of trimmed lines
    attempts: int = 0  # failed writes so far
    retry_at: datetime | None = None

    def is_about(self, owners: frozenset[str], phrase: str | None, sources: frozenset[str]) -> bool:
        """Whether a `/forget` of `owners` (their event ids: `sources`), maybe of one phrase, covers
        this draft. A draft is dropped whole: its other lines may answer the forgotten ones."""
        if owners.isdisjoint(self.owners) and sources.isdisjoint(self.source_ids):
            return False
        if phrase is None:
            return True
        needle = phrase.strip().lower()
        return any(needle in line.text.lower() for line in self.lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class KBEntry:
    id: str
    title: str
    text: str
    kind: KBKind
    scope: str = "global"  # "global", "persona:<name>", or "room:<platform>:<room_id>"
    keys: tuple[str, ...] = ()  # keywords; entries of the form "/regex/" are regexes
    priority: int = 0
    source: str = ""  # file path or "manual"
    content_hash: str = ""
    created_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)
