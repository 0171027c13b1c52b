"""Hand-written in-memory fakes of the `memory.base` store protocols, for unit tests.

They honour each protocol's documented contract (visibility filtering, idempotent adds,
supersession) in the simplest way, plus a few test knobs: `delay_s` makes a store's reads slow,
`fail` makes it raise, and `InMemoryMemory(leak=True)` ignores visibility, to prove the engine
filters defensively. `make_stores()` builds a full `Stores`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from memory.base import Claim, DeadLetter, OutboxJob, RateDecision, Stores, Tombstone
from memory.records import (
    Dossier,
    Fact,
    JournalEntry,
    KBEntry,
    MemoryHit,
    MemoryItem,
    MemoryQuery,
    Turn,
    Visibility,
)


class StoreDown(RuntimeError):
    """Raised by a fake told to fail."""


class _Knobs:
    delay_s: float = 0.0
    fail: bool = False
    closed: bool = False
    calls: int = 0

    async def _io(self) -> None:
        """Reads: slow when `delay_s` is set, failing when `fail` is."""
        self.calls += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail:
            raise StoreDown(type(self).__name__)

    async def _write(self) -> None:
        """Writes are never slowed (a slow-read test must not stall the shutdown drain)."""
        if self.fail:
            raise StoreDown(type(self).__name__)

    async def close(self) -> None:
        self.closed = True


def _matches(text: str, phrase: str | None) -> bool:
    return phrase is None or phrase.lower() in text.lower()


class InMemoryHistory(_Knobs):
    def __init__(self) -> None:
        self.turns: list[Turn] = []

    async def append(self, turns: Sequence[Turn]) -> None:
        await self._write()
        self.turns.extend(turns)

    async def recent(self, session: str, limit: int, *, visibility: Visibility) -> list[Turn]:
        await self._io()
        view = visibility.conversation()
        mine = [t for t in self.turns if t.session == session and view.allows(t.owner, t.scope)]
        return mine[-limit:] if limit else []

    async def export(self, owners: frozenset[str]) -> list[Turn]:
        return [t for t in self.turns if t.owner in owners]

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int:
        gone = [t for t in self.turns if t.owner in owners and _matches(t.text, phrase)]
        self.turns = [t for t in self.turns if t not in gone]
        return len(gone)


class InMemoryDedup(_Knobs):
    """Claims by key: (owner or None once answered, expiry). `another_process()` is a second
    holder on the same state, as a restarted or second process sees a persistent store."""

    def __init__(self, shared: dict[str, tuple[str | None, float]] | None = None) -> None:
        self.claimed: dict[str, tuple[str | None, float]] = {} if shared is None else shared
        self.owner = secrets.token_hex(4)

    def another_process(self) -> InMemoryDedup:
        return InMemoryDedup(self.claimed)

    async def claim(self, key: str, lease_s: float) -> Claim:
        await self._io()
        now = time.monotonic()
        owner, expires = self.claimed.get(key, (None, 0.0))
        if expires > now:
            if owner is None:
                return Claim.DONE
            return Claim.HERE if owner == self.owner else Claim.ELSEWHERE
        self.claimed[key] = (self.owner, now + lease_s)
        return Claim.RESUMED if owner is not None else Claim.NEW

    async def renew(self, keys: Sequence[str], lease_s: float) -> int:
        await self._write()
        mine = [key for key in keys if self.claimed.get(key, (None, 0.0))[0] == self.owner]
        for key in mine:
            self.claimed[key] = (self.owner, time.monotonic() + lease_s)
        return len(mine)

    async def complete(self, key: str, ttl_s: float) -> None:
        await self._write()
        self.claimed[key] = (None, time.monotonic() + ttl_s)

    async def release(self, key: str) -> None:
        await self._write()
        if self.claimed.get(key, (None, 0.0))[0] == self.owner:
            del self.claimed[key]


class InMemoryLimits(_Knobs):
    def __init__(self) -> None:
        self.hits: dict[str, list[float]] = defaultdict(list)
        self.tokens: dict[tuple[str, str], int] = defaultdict(int)

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        await self._io()
        now = time.monotonic()
        recent = [t for t in self.hits[key] if t > now - window_s]
        if len(recent) >= limit:
            self.hits[key] = recent
            return RateDecision(allowed=False, retry_after_s=recent[0] + window_s - now)
        self.hits[key] = [*recent, now]
        return RateDecision(allowed=True)

    async def add_usage(self, key: str, day: str, tokens: int) -> int:
        self.tokens[key, day] += tokens
        return self.tokens[key, day]

    async def usage(self, key: str, day: str) -> int:
        await self._io()
        return self.tokens[key, day]


class InMemoryMemory(_Knobs):
    """Word-overlap search; filters by visibility BEFORE ranking unless `leak` is set."""

    def __init__(self, *, leak: bool = False) -> None:
        self.items: dict[str, MemoryItem] = {}
        self.leak = leak

    async def add(self, items: Sequence[MemoryItem]) -> None:
        await self._write()
        for item in items:
            self.items[item.id] = item

    async def search(self, query: MemoryQuery) -> list[MemoryHit]:
        await self._io()
        words = set(query.text.lower().split())
        visible = [i for i in self.items.values() if self.leak or query.visibility.allows(i.owner, i.scope)]
        scored = [(len(words & set(i.text.lower().split())), i) for i in visible]
        ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: -s[0])
        return [MemoryHit(item=i, score=float(s)) for s, i in ranked[: query.k]]

    async def export(self, owners: frozenset[str]) -> list[MemoryItem]:
        return [i for i in self.items.values() if i.owner in owners]

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int:
        gone = [k for k, i in self.items.items() if i.owner in owners and _matches(i.text, phrase)]
        for key in gone:
            del self.items[key]
        return len(gone)

    async def remove(self, owners: frozenset[str], ids: Sequence[str]) -> int:
        gone = [k for k in ids if k in self.items and self.items[k].owner in owners]
        for key in gone:
            del self.items[key]
        return len(gone)


class InMemoryFacts(_Knobs):
    def __init__(self) -> None:
        self.all_facts: list[Fact] = []
        self.dossiers: dict[tuple[str, str], Dossier] = {}

    async def upsert(self, facts: Sequence[Fact]) -> None:
        for fact in facts:
            self.all_facts = [
                replace(old, superseded_by=fact.id, superseded_at=fact.recorded_at)
                if old.current
                and (old.owner, old.subject, old.attribute) == (fact.owner, fact.subject, fact.attribute)
                else old
                for old in self.all_facts
            ]
            self.all_facts.append(fact)

    async def facts(self, visibility: Visibility, *, include_superseded: bool = False) -> list[Fact]:
        await self._io()
        personal = visibility.personal()
        return [
            f
            for f in self.all_facts
            if personal.allows(f.owner, f.scope) and (include_superseded or f.current)
        ]

    async def dossier(self, visibility: Visibility) -> Dossier | None:
        await self._io()
        for dossier in self.dossiers.values():
            if visibility.personal().allows(dossier.owner, dossier.scope):
                return dossier
        return None

    async def save_dossier(self, dossier: Dossier) -> None:
        self.dossiers[dossier.owner, dossier.scope] = dossier

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int:
        gone = [
            f for f in self.all_facts if f.owner in owners and _matches(f"{f.attribute} {f.value}", phrase)
        ]
        self.all_facts = [f for f in self.all_facts if f not in gone]
        dossiers = [k for k, d in self.dossiers.items() if d.owner in owners and _matches(d.summary, phrase)]
        for key in dossiers:
            del self.dossiers[key]
        return len(gone) + len(dossiers)


class InMemoryJournal(_Knobs):
    def __init__(self) -> None:
        self.entries: list[JournalEntry] = []

    async def add(self, entry: JournalEntry) -> None:
        self.entries.append(entry)

    def _visible(self, persona: str, visibility: Visibility) -> list[JournalEntry]:
        return [e for e in self.entries if e.persona == persona and visibility.allows(e.owner, e.scope)]

    async def recent(
        self, persona: str, visibility: Visibility, limit: int, since: datetime | None = None
    ) -> list[JournalEntry]:
        await self._io()
        entries = [e for e in self._visible(persona, visibility) if since is None or e.created_at >= since]
        return entries[-limit:] if limit else []

    async def search(self, persona: str, visibility: Visibility, text: str, k: int) -> list[JournalEntry]:
        return [e for e in self._visible(persona, visibility) if _matches(e.text, text)][:k]

    async def forget(
        self, owners: frozenset[str], phrase: str | None = None, *, sources: frozenset[str] = frozenset()
    ) -> int:
        gone = [
            e
            for e in self.entries
            if (e.owner in owners or not sources.isdisjoint(e.source_ids)) and _matches(e.text, phrase)
        ]
        self.entries = [e for e in self.entries if e not in gone]
        return len(gone)


class InMemoryKB(_Knobs):
    def __init__(self) -> None:
        self.entries: dict[str, KBEntry] = {}

    async def add(self, entries: Sequence[KBEntry]) -> int:
        changed = [e for e in entries if self.entries.get(e.id) != e]
        for entry in changed:
            self.entries[entry.id] = entry
        return len(changed)

    async def select(
        self, *, query: str, recent_text: str, scopes: Sequence[str], token_budget: int
    ) -> list[KBEntry]:
        await self._io()
        words = set(query.lower().split())
        return [
            e
            for e in self.entries.values()
            if e.scope in scopes
            and (e.kind == "constant" or words & set(f"{e.title} {e.text}".lower().split()))
        ]

    async def remove(self, entry_id: str) -> bool:
        return self.entries.pop(entry_id, None) is not None

    async def list(self, scopes: Sequence[str] | None = None) -> list[KBEntry]:
        return [e for e in self.entries.values() if scopes is None or e.scope in scopes]


class InMemoryLinks(_Knobs):
    def __init__(self) -> None:
        self.groups: dict[str, frozenset[str]] = {}
        self.codes: dict[str, str] = {}

    async def identities(self, identity: str) -> frozenset[str]:
        await self._io()
        return self.groups.get(identity, frozenset()) | {identity}

    async def issue_code(self, identity: str, ttl_s: float) -> str:
        code = secrets.token_hex(3)
        self.codes[code] = identity
        return code

    async def redeem(self, identity: str, code: str) -> bool:
        issuer = self.codes.pop(code, None)
        if issuer is None:
            return False
        group = (
            self.groups.get(issuer, frozenset({issuer})) | self.groups.get(identity, frozenset()) | {identity}
        )
        for member in group:
            self.groups[member] = group
        return True

    async def unlink(self, identity: str) -> None:
        group = self.groups.pop(identity, frozenset())
        for member in group - {identity}:
            self.groups[member] = group - {identity}


class InMemoryOutbox(_Knobs):
    """The outbox contract over an in-memory history: turns and jobs land together."""

    def __init__(self, history: InMemoryHistory) -> None:
        self.history = history
        self.jobs: dict[str, OutboxJob] = {}
        self.dead: list[DeadLetter] = []
        self.tombstones: list[Tombstone] = []

    async def commit(self, turns: Sequence[Turn], jobs: Sequence[OutboxJob]) -> None:
        await self._write()
        if turns:
            await self.history.append(turns)
        for job in jobs:
            self.jobs.setdefault(job.key, job)

    async def pending(self) -> list[OutboxJob]:
        return list(self.jobs.values())

    async def done(self, key: str) -> None:
        self.jobs.pop(key, None)

    async def postpone(self, key: str, *, due_ts: float, error: str) -> int:
        job = self.jobs.get(key)
        if job is None:
            return 0
        self.jobs[key] = replace(job, attempts=job.attempts + 1, due_ts=due_ts)
        return job.attempts + 1

    async def dead_letter(self, key: str, error: str) -> None:
        job = self.jobs.pop(key, None)
        if job is not None:
            failed_at = datetime.now(UTC)
            self.dead.append(
                DeadLetter(
                    key=key,
                    kind=job.kind,
                    error=error,
                    attempts=job.attempts + 1,
                    failed_at=failed_at,
                    owners=job.owners,
                )
            )

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        return list(reversed(self.dead))[:limit]

    async def forget(self, owners: frozenset[str], phrase: str | None, at: float) -> int:
        self.tombstones += [Tombstone(owner=o, phrase=phrase, at=at, applied=False) for o in sorted(owners)]
        if phrase is not None:
            return 0
        doomed = [k for k, j in self.jobs.items() if j.owners <= owners]
        for key in doomed:
            del self.jobs[key]
        self.dead = [d for d in self.dead if not d.owners <= owners]
        return len(doomed)

    async def forgotten(self, owners: frozenset[str], since: float) -> list[Tombstone]:
        return [t for t in self.tombstones if t.owner in owners and t.at >= since]

    async def mark_applied(self, owners: frozenset[str], at: float) -> None:
        self.tombstones = [
            replace(t, applied=True) if t.owner in owners and t.at == at else t for t in self.tombstones
        ]

    async def unapplied(self) -> list[Tombstone]:
        return [t for t in self.tombstones if not t.applied]


def make_stores(
    *,
    history: InMemoryHistory | None = None,
    memory: InMemoryMemory | None = None,
    facts: InMemoryFacts | None = None,
    journal: InMemoryJournal | None = None,
    kb: InMemoryKB | None = None,
    links: InMemoryLinks | None = None,
    limits: InMemoryLimits | None = None,
    dedup: InMemoryDedup | None = None,
    outbox: InMemoryOutbox | None = None,
) -> Stores:
    history = history or InMemoryHistory()
    return Stores(
        history=history,
        dedup=dedup or InMemoryDedup(),
        limits=limits or InMemoryLimits(),
        memory=memory or InMemoryMemory(),
        facts=facts or InMemoryFacts(),
        journal=journal or InMemoryJournal(),
        kb=kb or InMemoryKB(),
        links=links or InMemoryLinks(),
        outbox=outbox or InMemoryOutbox(history),
    )
