"""Every store against the one visibility rule (memory.visibility), on real backends.

First the rule itself, on the documented cases written out by hand, and its SQL form against
its Python form. Then each store is given one record of every (owner, scope) and asked from
every place under every room policy: it must return exactly what the rule (through the view that
store documents) allows, even when asked for only that many, with the hidden records the newest
(a filter applied after the LIMIT would lose visible ones behind them).
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest
from redis.asyncio import Redis

from memory.chroma import ChromaIndex
from memory.embeddings.onnx import OnnxEmbedder
from memory.kb import SqliteKnowledgeBase
from memory.longterm import HybridMemory
from memory.longterm.tuning import RetrievalTuning
from memory.postgres.facts import PostgresFactStore
from memory.postgres.history import PostgresHistoryStore
from memory.postgres.journal import PostgresJournalStore
from memory.postgres.pool import PostgresDatabase
from memory.records import Dossier, Fact, JournalEntry, KBEntry, MemoryItem, MemoryQuery, Turn
from memory.redis.history import RedisHistoryStore
from memory.sqlite.db import Database
from memory.sqlite.facts import SqliteFactStore
from memory.sqlite.history import SqliteHistoryStore
from memory.sqlite.journal import SqliteJournalStore
from memory.visibility import DM_SCOPE, Visibility, knowledge_scopes

ALICE, ALICE_MATRIX, BOB = "discord:alice", "matrix:alice", "discord:bob"
ASKER = frozenset({ALICE, ALICE_MATRIX})  # Alice's two linked identities
LOUNGE, GARDEN = "room:discord:lounge", "room:discord:garden"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SESSION = "discord:lounge:-:*"
# One distinct word per record, so no two records are near-duplicates that retrieval would merge.
WORDS = (
    *("apples", "harbour", "violin", "glacier", "pottery", "lanterns"),
    *("orchids", "comets", "tides", "basalt", "meadow", "cipher"),
)


def asked(place: str, shared: bool) -> Visibility:
    return Visibility(owners=ASKER, scope=place, room_shared=shared)


# ---- the rule on the documented cases (docs/architecture.md, "Identity, scope and privacy")

RULE_CASES = {
    "own DM record, in a DM": (DM_SCOPE, False, ALICE, DM_SCOPE, True),
    "own DM record through a linked identity": (DM_SCOPE, False, ALICE_MATRIX, DM_SCOPE, True),
    "own room record, in a DM": (DM_SCOPE, False, ALICE, LOUNGE, True),
    "own DM record, never in a room": (LOUNGE, True, ALICE, DM_SCOPE, False),
    "own record of this room": (LOUNGE, False, ALICE, LOUNGE, True),
    "own record of another room": (LOUNGE, False, ALICE, GARDEN, True),
    "another's record of this room, room not shared": (LOUNGE, False, BOB, LOUNGE, False),
    "another's record of this room, room shared": (LOUNGE, True, BOB, LOUNGE, True),
    "the room's own record, room shared": (LOUNGE, True, None, LOUNGE, True),
    "the room's own record, room not shared": (LOUNGE, False, None, LOUNGE, False),
    "another's record of another room, even shared": (LOUNGE, True, BOB, GARDEN, False),
    "another's DM record, in a DM": (DM_SCOPE, True, BOB, DM_SCOPE, False),
    "another's DM record, in a shared room": (LOUNGE, True, BOB, DM_SCOPE, False),
    "another's room record, in a DM (a DM shares nothing)": (DM_SCOPE, True, BOB, LOUNGE, False),
    "a DM record of nobody": (DM_SCOPE, False, None, DM_SCOPE, False),
}


@pytest.mark.parametrize(
    ("place", "shared", "owner", "scope", "expected"), RULE_CASES.values(), ids=RULE_CASES
)
def test_the_rule_on_the_documented_cases(
    place: str, shared: bool, owner: str | None, scope: str, expected: bool
) -> None:
    assert asked(place, shared).allows(owner, scope) is expected


def test_the_conversation_and_personal_views() -> None:
    in_lounge = asked(LOUNGE, False)
    # What was said in this room's conversation was on everyone's screen; a DM line never leaves it.
    assert in_lounge.conversation().allows(BOB, LOUNGE)
    assert not in_lounge.conversation().allows(BOB, DM_SCOPE)
    assert not in_lounge.conversation().allows(ALICE, DM_SCOPE)
    # What describes the asker is never someone else's, even where the room shares.
    assert not asked(LOUNGE, True).personal().allows(BOB, LOUNGE)
    assert asked(LOUNGE, True).personal().allows(ALICE, GARDEN)


ALL_RECORDS = [
    (owner, scope) for owner in (ALICE, ALICE_MATRIX, BOB, None) for scope in (DM_SCOPE, LOUNGE, GARDEN)
]
VIEWS = {
    f"{place}-{'shared' if shared else 'private'}": (place, shared)
    for place in (DM_SCOPE, LOUNGE)
    for shared in (False, True)
}


@pytest.mark.parametrize(("place", "shared"), VIEWS.values(), ids=VIEWS)
def test_the_sql_form_selects_what_the_predicate_allows(place: str, shared: bool) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER, who TEXT, place TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(i, o, s) for i, (o, s) in enumerate(ALL_RECORDS)])
    visibility = asked(place, shared)
    where, params = visibility.sql(owner="t.who", scope="t.place")
    selected = {row[0] for row in conn.execute(f"SELECT id FROM t WHERE {where}", params)}
    conn.close()
    assert selected == {i for i, (o, s) in enumerate(ALL_RECORDS) if visibility.allows(o, s)}


def test_a_column_name_is_checked() -> None:
    with pytest.raises(ValueError, match="column"):
        asked(LOUNGE, False).sql(owner="owner; DROP TABLE x")


# ---- every store against the rule


@dataclass(frozen=True, slots=True)
class Record:
    owner: str | None
    scope: str
    at: datetime
    word: str

    @property
    def id(self) -> str:
        return f"{self.owner or 'nobody'}|{self.scope}"

    @property
    def text(self) -> str:
        return f"the lighthouse and the {self.word}"


def records(*, nobody: bool) -> list[Record]:
    """One record per (owner, scope); the asker's own are the oldest, so hidden ones are newest."""
    owners: list[str | None] = [ALICE, ALICE_MATRIX, BOB, *([None] if nobody else [])]
    pairs = list(itertools.product(owners, (DM_SCOPE, LOUNGE, GARDEN)))
    return [
        Record(owner=o, scope=s, at=NOW - timedelta(hours=len(pairs) - i), word=WORDS[i])
        for i, (o, s) in enumerate(pairs)
    ]


class Harness(Protocol):
    nobody: bool  # whether the store keeps records that are no single person's

    def view(self, visibility: Visibility) -> Visibility: ...

    async def put(self, batch: Sequence[Record]) -> None: ...

    async def seen(self, visibility: Visibility, limit: int) -> set[str]: ...


class HistoryHarness:
    nobody = False

    def __init__(self, store: SqliteHistoryStore | RedisHistoryStore | PostgresHistoryStore) -> None:
        self.store = store

    def view(self, visibility: Visibility) -> Visibility:
        return visibility.conversation()

    async def put(self, batch: Sequence[Record]) -> None:
        await self.store.append([_turn(r) for r in batch])

    async def seen(self, visibility: Visibility, limit: int) -> set[str]:
        return {t.event_id for t in await self.store.recent(SESSION, limit, visibility=visibility)}


def _turn(record: Record) -> Turn:
    assert record.owner is not None
    return Turn(
        event_id=record.id,
        session=SESSION,
        role="user",
        owner=record.owner,
        author_name=record.owner,
        text=record.text,
        created_at=record.at,
        scope=record.scope,
        platform="discord",
        room_id="lounge",
    )


class FactsHarness:
    nobody = False

    def __init__(self, store: SqliteFactStore | PostgresFactStore) -> None:
        self.store = store

    def view(self, visibility: Visibility) -> Visibility:
        return visibility.personal()

    async def put(self, batch: Sequence[Record]) -> None:
        await self.store.upsert([_fact(r) for r in batch])

    async def seen(self, visibility: Visibility, limit: int) -> set[str]:
        return {f.id for f in await self.store.facts(visibility)}


def _fact(record: Record) -> Fact:
    assert record.owner is not None
    return Fact(
        id=record.id,
        owner=record.owner,
        scope=record.scope,
        subject="user",
        attribute=f"likes_{record.word}",  # one key each: nothing supersedes anything
        value=record.word,
        kind="preference",
        confidence=0.9,
        source_ids=(f"ev-{record.id}",),
        valid_from=record.at,
        recorded_at=record.at,
    )


class DossierHarness:
    """A store keeps one dossier per (owner, DM or room material): each is tried on its own."""

    nobody = False

    def __init__(self, store: SqliteFactStore | PostgresFactStore) -> None:
        self.store = store
        self.batch: Sequence[Record] = ()

    def view(self, visibility: Visibility) -> Visibility:
        return visibility.personal()

    async def put(self, batch: Sequence[Record]) -> None:
        self.batch = batch

    async def seen(self, visibility: Visibility, limit: int) -> set[str]:
        found: set[str] = set()
        for record in self.batch:
            assert record.owner is not None
            await self.store.save_dossier(
                Dossier(owner=record.owner, scope=record.scope, summary=record.id, updated_at=record.at)
            )
            dossier = await self.store.dossier(visibility)
            if dossier is not None:
                found.add(dossier.summary)
            await self.store.forget(frozenset({record.owner}))
        return found


class JournalHarness:
    nobody = True

    def __init__(self, store: SqliteJournalStore | PostgresJournalStore, *, by_search: bool) -> None:
        self.store = store
        self.by_search = by_search

    def view(self, visibility: Visibility) -> Visibility:
        return visibility

    async def put(self, batch: Sequence[Record]) -> None:
        for record in batch:
            await self.store.add(
                JournalEntry(
                    id=record.id,
                    persona="familiar",
                    day=record.at.date().isoformat(),
                    kind="entry",
                    text=record.text,
                    scope=record.scope,
                    created_at=record.at,
                    owner=record.owner,
                )
            )

    async def seen(self, visibility: Visibility, limit: int) -> set[str]:
        if self.by_search:
            entries = await self.store.search("familiar", visibility, "lighthouse", limit)
        else:
            entries = await self.store.recent("familiar", visibility, limit)
        return {e.id for e in entries}


class MemoryHarness:
    nobody = False

    def __init__(self, store: HybridMemory) -> None:
        self.store = store

    def view(self, visibility: Visibility) -> Visibility:
        return visibility

    async def put(self, batch: Sequence[Record]) -> None:
        await self.store.add([_item(r) for r in batch])

    async def seen(self, visibility: Visibility, limit: int) -> set[str]:
        query = MemoryQuery(text="the lighthouse", visibility=visibility, now=NOW, k=limit)
        return {hit.item.id for hit in await self.store.search(query)}


def _item(record: Record) -> MemoryItem:
    assert record.owner is not None
    return MemoryItem(
        id=record.id,
        owner=record.owner,
        scope=record.scope,
        text=record.text,
        created_at=record.at,
        source_ids=(f"ev-{record.id}",),
    )


@pytest.fixture
async def history_sqlite(db: Database) -> HistoryHarness:
    store = SqliteHistoryStore(db)
    await store.start()
    return HistoryHarness(store)


@pytest.fixture
def history_redis(redis_client: Redis) -> HistoryHarness:
    return HistoryHarness(RedisHistoryStore(redis_client))


@pytest.fixture
async def facts(db: Database) -> FactsHarness:
    store = SqliteFactStore(db)
    await store.start()
    return FactsHarness(store)


@pytest.fixture
async def dossiers(db: Database) -> DossierHarness:
    store = SqliteFactStore(db)
    await store.start()
    return DossierHarness(store)


async def _journal(db: Database, *, by_search: bool) -> JournalHarness:
    store = SqliteJournalStore(db)
    await store.start()
    return JournalHarness(store, by_search=by_search)


# The same stores on Postgres: the rule's SQL form runs there unchanged.
@pytest.fixture
def history_postgres(pg_db: PostgresDatabase) -> HistoryHarness:
    return HistoryHarness(PostgresHistoryStore(pg_db))


@pytest.fixture
def facts_postgres(pg_db: PostgresDatabase) -> FactsHarness:
    return FactsHarness(PostgresFactStore(pg_db))


@pytest.fixture
def dossiers_postgres(pg_db: PostgresDatabase) -> DossierHarness:
    return DossierHarness(PostgresFactStore(pg_db))


@pytest.fixture
def journal_recent_postgres(pg_db: PostgresDatabase) -> JournalHarness:
    return JournalHarness(PostgresJournalStore(pg_db), by_search=False)


@pytest.fixture
def journal_search_postgres(pg_db: PostgresDatabase) -> JournalHarness:
    return JournalHarness(PostgresJournalStore(pg_db), by_search=True)


@pytest.fixture
async def journal_recent(db: Database) -> JournalHarness:
    return await _journal(db, by_search=False)


@pytest.fixture
async def journal_search(db: Database) -> JournalHarness:
    return await _journal(db, by_search=True)


@asynccontextmanager
async def _memory(
    db: Database, where: Path, embedder: OnnxEmbedder, tuning: RetrievalTuning
) -> AsyncIterator[MemoryHarness]:
    index = ChromaIndex(model_id=embedder.model_id, dim=embedder.dim, path=where / "chroma")
    store = HybridMemory(db=db, vectors=index, embedder=embedder, tuning=tuning)
    await store.start()
    try:
        yield MemoryHarness(store)
    finally:
        await store.close()
        await index.close()


# Small visible sets are ranked by an exact scan, large ones through Chroma: both are held to the rule.
@pytest.fixture
async def memory_exact_scan(
    db: Database, tmp_path: Path, embedder: OnnxEmbedder
) -> AsyncIterator[MemoryHarness]:
    async with _memory(db, tmp_path, embedder, RetrievalTuning()) as harness:
        yield harness


@pytest.fixture
async def memory_chroma_index(
    db: Database, tmp_path: Path, embedder: OnnxEmbedder
) -> AsyncIterator[MemoryHarness]:
    async with _memory(
        db, tmp_path, embedder, RetrievalTuning(exact_scan_limit=0, interval_scan_limit=0)
    ) as harness:
        yield harness


@pytest.fixture(
    params=[
        "history_sqlite",
        pytest.param("history_redis", marks=pytest.mark.redis),
        "facts",
        "dossiers",
        "journal_recent",
        "journal_search",
        "memory_exact_scan",
        "memory_chroma_index",
        *(
            pytest.param(name, marks=pytest.mark.postgres)
            for name in (
                "history_postgres",
                "facts_postgres",
                "dossiers_postgres",
                "journal_recent_postgres",
                "journal_search_postgres",
            )
        ),
    ]
)
def harness(request: pytest.FixtureRequest) -> Harness:
    chosen: Harness = request.getfixturevalue(request.param)
    return chosen


@pytest.mark.parametrize(("place", "shared"), VIEWS.values(), ids=VIEWS)
async def test_every_store_returns_exactly_what_the_rule_allows(
    harness: Harness, place: str, shared: bool
) -> None:
    batch = records(nobody=harness.nobody)
    await harness.put(batch)
    visibility = asked(place, shared)
    view = harness.view(visibility)
    expected = {r.id for r in batch if view.allows(r.owner, r.scope)}

    assert await harness.seen(visibility, 100) == expected
    # Asked for exactly that many, with hidden records the newest: none is lost behind them.
    assert await harness.seen(visibility, max(len(expected), 1)) == expected


# ---- the knowledgebase: authored entries, seen by scope


async def test_the_knowledgebase_offers_only_the_places_scopes(db: Database) -> None:
    kb = SqliteKnowledgeBase(db)
    await kb.start()
    dm_room = "room:discord:dm-alice"
    scopes = ["global", "persona:familiar", "persona:other", LOUNGE, GARDEN, dm_room]
    await kb.add(
        [
            KBEntry(
                id=scope, title=scope, text=f"Lighthouse rules for {scope}.", kind="constant", scope=scope
            )
            for scope in scopes
        ]
    )
    for room_scope in (LOUNGE, dm_room):
        wanted = knowledge_scopes("familiar", room_scope)
        got = await kb.select(
            query="lighthouse", recent_text="lighthouse", scopes=wanted, token_budget=10_000
        )
        assert {e.scope for e in got} == set(wanted)
    await kb.close()
