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

    async def recent(self, session: str, limit: int, *, visibility: Visibility) -> list[Turn]:
        """The session's newest `limit` turns `visibility.conversation()` allows, oldest first."""
        ...

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


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxJob:
    """One piece of a turn's post-turn work, recorded with the turn so a kill cannot lose it."""

    key: str  # idempotency key ("memory:<turn key>", "hook:facts:<turn key>")
    kind: str  # what the runner does with it ("memory", "hook:<name>", "history")
    payload: str  # the turn, as the engine encoded it
    owners: frozenset[str]  # every identity whose words the job stores or learns from
    origin_ts: float  # epoch seconds of the turn's first message: forgets since then apply to it
    attempts: int = 0
    due_ts: float = 0.0  # not run before this (epoch seconds): backoff after a failure


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """A job that kept failing: kept, with its last error, for an operator to look at."""

    key: str
    kind: str
    error: str
    attempts: int
    failed_at: datetime
    owners: frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Tombstone:
    """A forget: work on words older than `at` must not bring back what it removed."""

    owner: str
    phrase: str | None  # None: everything
    at: float  # epoch seconds
    applied: bool = True  # False until every store has forgotten (a kill may come between)


class Outbox(Closeable, Protocol):
    """A turn's history and its post-turn work, committed together before the reply is delivered.

    Jobs stay recorded until `done` (or dead-lettered), so work cut short by a kill or a stop is
    run again after the restart; a job must therefore be idempotent by its key.
    """

    async def commit(self, turns: Sequence[Turn], jobs: Sequence[OutboxJob]) -> None:
        """Append `turns` to history and record `jobs`; both are durable when this returns.

        History in the same database: one transaction. History in another store (Redis): it is
        appended there first, then the jobs are recorded; raises if either refuses.
        """
        ...

    async def pending(self) -> list[OutboxJob]:
        """Every recorded job, oldest first (read at start-up)."""
        ...

    async def done(self, key: str) -> None: ...

    async def postpone(self, key: str, *, due_ts: float, error: str) -> int:
        """Count a failed attempt and set when to try again; returns the attempts so far."""
        ...

    async def dead_letter(self, key: str, error: str) -> None:
        """Move a job that keeps failing out of the outbox into the dead letters."""
        ...

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The most recent dead letters first."""
        ...

    async def forget(self, owners: frozenset[str], phrase: str | None, at: float) -> int:
        """Record a tombstone per owner; drop the jobs that hold only these owners' words (all
        of them, when `phrase` is None) and their dead letters. Returns how many jobs went."""
        ...

    async def forgotten(self, owners: frozenset[str], since: float) -> list[Tombstone]:
        """Tombstones of any of `owners` recorded at or after `since`."""
        ...

    async def mark_applied(self, owners: frozenset[str], at: float) -> None:
        """Every store has forgotten what the tombstones of (`owners`, `at`) name."""
        ...

    async def unapplied(self) -> list[Tombstone]:
        """Forgets a kill interrupted: to be applied again at start."""
        ...


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
    outbox: Outbox  # the turn's history and post-turn work, committed together
    locks: SessionLocks | None = None  # set when REDIS_URL is configured
    extra: dict[str, Any] | None = None
