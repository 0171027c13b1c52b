"""Store interfaces: the only part of `memory` the persona engine depends on.

Each protocol is small. Backends: SQLite/aiosqlite + embedded Chroma by default; Redis
(history, dedup, rate limits) and a Chroma server at scale. Every store is opened by the
composition root and closed by it (`close()` is idempotent).
"""

from __future__ import annotations

import enum
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

    async def recent(self, session: str, limit: int) -> list[Turn]: ...

    async def export(self, owners: frozenset[str]) -> list[Turn]: ...

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int:
        """Delete the owners' turns (all, or those containing `phrase`); returns how many."""
        ...


class Claim(enum.Enum):
    """What a claim on an event key found. Only NEW and RESUMED hand the caller the event."""

    NEW = "new"  # never seen: the caller now holds it, in progress, under a lease
    RESUMED = "resumed"  # an earlier holder's lease ran out unanswered (it died): the caller holds it
    HERE = "here"  # in progress under a live lease held by this same store (a re-delivery mid-turn)
    ELSEWHERE = "elsewhere"  # in progress under a live lease held by another store (process)
    DONE = "done"  # answered: never handed out again within the long TTL

    @property
    def won(self) -> bool:
        return self in (Claim.NEW, Claim.RESUMED)


class EventDedup(Closeable, Protocol):
    """Inbound events claimed in two stages: in progress under a short lease, then answered.

    A holder that dies stops renewing, so its event becomes claimable again within one lease
    (and is answered once when re-delivered); an answered event is refused for the long TTL.
    Each store object is one holder: renew/complete/release act only on its own claims.
    """

    async def claim(self, key: str, lease_s: float) -> Claim:
        """Take `key` in progress for `lease_s`, unless it is answered or held under a live lease."""
        ...

    async def renew(self, keys: Sequence[str], lease_s: float) -> int:
        """Extend this holder's in-progress claims on `keys`; returns how many were still ours."""
        ...

    async def complete(self, key: str, ttl_s: float) -> None:
        """Mark `key` answered for `ttl_s` (across restarts and processes)."""
        ...

    async def release(self, key: str) -> None:
        """Drop this holder's in-progress claim, so a re-delivery is answered (a stop mid-turn)."""
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


class FactStore(Closeable, Protocol):
    """Facts and dossiers. `upsert` supersedes older facts on the same (owner, subject, attribute)."""

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
