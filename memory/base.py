"""Store interfaces: the only part of `memory` the persona engine depends on.

Each protocol is small. Backends: SQLite/aiosqlite + embedded Chroma by default; Redis
(history, dedup, rate limits) and a Chroma server at scale. Every store is opened by the
composition root and closed by it (`close()` is idempotent).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from memory.records import (
    Dossier,
    Fact,
    JournalDraft,
    JournalEntry,
    KBEntry,
    MemoryHit,
    MemoryItem,
    MemoryQuery,
    Turn,
    Visibility,
)


class Closeable(Protocol):
    async def close(self) -> None: ...


class HistoryStore(Closeable, Protocol):
    """Recent conversation per session, newest last."""

    async def append(self, turns: Sequence[Turn]) -> None: ...

    async def recent(self, session: str, limit: int, *, visibility: Visibility) -> list[Turn]:
        """The session's newest `limit` turns `visibility.conversation()` allows, oldest first."""
        ...

    async def export(self, owners: frozenset[str]) -> list[Turn]: ...

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int:
        """Delete the owners' turns (all, or those containing `phrase`); returns how many."""
        ...


class EventDedup(Closeable, Protocol):
    async def claim(self, key: str, ttl_s: float) -> bool:
        """True exactly once per key within the TTL, across restarts and processes."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RateDecision:
    allowed: bool
    retry_after_s: float = 0.0


class RateLimiter(Closeable, Protocol):
    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        """Count one event for `key` in a sliding window; refuse beyond `limit`."""
        ...

    async def add_usage(self, key: str, day: str, tokens: int) -> int:
        """Add tokens to a daily counter and return the day's total."""
        ...

    async def usage(self, key: str, day: str) -> int: ...


class LongTermMemory(Closeable, Protocol):
    """Episodic memory: hybrid (dense + lexical) search, filtered by visibility before ranking."""

    async def add(self, items: Sequence[MemoryItem]) -> None:
        """Idempotent by item id."""
        ...

    async def search(self, query: MemoryQuery) -> list[MemoryHit]: ...

    async def export(self, owners: frozenset[str]) -> list[MemoryItem]: ...

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int: ...

    async def remove(self, owners: frozenset[str], ids: Sequence[str]) -> int:
        """Remove the owners' items with these ids from every index (a superseded derived item)."""
        ...


class FactStore(Closeable, Protocol):
    """Facts and dossiers. `upsert` supersedes older facts on the same (owner, subject, attribute).

    Reads return only what `visibility.personal()` allows: these describe the person answered.
    """

    async def upsert(self, facts: Sequence[Fact]) -> None: ...

    async def facts(self, visibility: Visibility, *, include_superseded: bool = False) -> list[Fact]: ...

    async def dossier(self, visibility: Visibility) -> Dossier | None: ...

    async def save_dossier(self, dossier: Dossier) -> None: ...

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int: ...


class JournalStore(Closeable, Protocol):
    async def add(self, entry: JournalEntry) -> None: ...

    async def recent(
        self, persona: str, visibility: Visibility, limit: int, since: datetime | None = None
    ) -> list[JournalEntry]: ...

    async def search(self, persona: str, visibility: Visibility, text: str, k: int) -> list[JournalEntry]: ...

    async def forget(
        self, owners: frozenset[str], phrase: str | None = None, *, sources: frozenset[str] = frozenset()
    ) -> int:
        """Entries about `owners`, and shared entries built from any of `sources` (their event ids)."""
        ...


class JournalDrafts(Protocol):
    """Conversations noted for the journal and not yet written, so a restart loses none.

    Held by the journal's store: its `forget` drops matching drafts with the entries.
    """

    async def save(self, draft: JournalDraft) -> None:
        """Insert, or replace the draft with the same id."""
        ...

    async def update(self, draft: JournalDraft) -> bool:
        """Replace a pending draft; False, writing nothing, when it is gone (forgotten meanwhile)."""
        ...

    async def get(self, draft_id: str) -> JournalDraft | None: ...

    async def pending(self) -> list[JournalDraft]:
        """Every draft, oldest activity first (read once at start-up)."""
        ...

    async def discard(self, draft_id: str) -> bool:
        """Drop a draft once written; False when it was already gone."""
        ...


class KnowledgeBase(Closeable, Protocol):
    async def add(self, entries: Sequence[KBEntry]) -> int:
        """Returns how many were new or changed (unchanged content hashes are a no-op)."""
        ...

    async def select(
        self, *, query: str, recent_text: str, scopes: Sequence[str], token_budget: int
    ) -> list[KBEntry]:
        """Constant, keyword/regex-triggered and retrieved entries in `scopes`, best first, in budget."""
        ...

    async def remove(self, entry_id: str) -> bool: ...

    async def list(self, scopes: Sequence[str] | None = None) -> list[KBEntry]: ...


class IdentityLinks(Closeable, Protocol):
    """Links a person's identities across platforms via one-time codes."""

    async def identities(self, identity: str) -> frozenset[str]:
        """All identities linked with this one (always includes itself)."""
        ...

    async def issue_code(self, identity: str, ttl_s: float) -> str: ...

    async def redeem(self, identity: str, code: str) -> bool: ...

    async def unlink(self, identity: str) -> None: ...


class SessionLocks(Protocol):
    """Cross-process turn slots (Redis): one turn at a time per session across every process.

    In one process the engine's own per-session queue already serialises turns; this adds the
    guarantee when several processes share the same platform events or sessions.
    """

    def lock(self, session: str) -> AbstractAsyncContextManager[object]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Stores:
    """Everything the engine remembers through; built and closed by the composition root."""

    history: HistoryStore
    dedup: EventDedup
    limits: RateLimiter
    memory: LongTermMemory
    facts: FactStore
    journal: JournalStore
    kb: KnowledgeBase
    links: IdentityLinks
    locks: SessionLocks | None = None  # set when REDIS_URL is configured
    extra: dict[str, Any] | None = None
