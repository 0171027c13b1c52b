"""SqliteKnowledgeBase: constant, triggered and retrieved entries, scopes, budget and idempotent writes.

Unit tests use a deterministic hashed bag-of-words embedder and an in-memory vector index (fakes
of our own protocols); the integration test against Chroma and the ONNX model is in test_kb_integration.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest

from memory.kb import InvalidEntry, InvalidKey, SqliteKnowledgeBase
from memory.kb.selection import entry_prompt_text
from memory.postgres.pool import PostgresDatabase
from memory.records import KBEntry, KBKind
from memory.sqlite.db import Database
from memory.vectors import Metadata, VectorHit
from tests.support.sqlite import DB_FILE


class HashedBagEmbedder:
    """Deterministic: each word hashes to a dimension; shared words mean similar vectors.

    A few synonyms share a dimension, standing in for what a real model knows about meaning.
    """

    synonyms: ClassVar[dict[str, str]] = {
        "boat": "vessel",
        "boats": "vessel",
        "ship": "vessel",
        "ships": "vessel",
    }

    model_id = "test-hashed-bag-of-words"
    dim = 256

    def __init__(self) -> None:
        self.calls = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        for raw in re.findall(r"\w+", text.lower()):
            word = self.synonyms.get(raw, raw)
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    async def close(self) -> None:
        return None


class MemoryVectorIndex:
    """Brute-force cosine index keyed by collection; distance = 1 - cosine, like Chroma's cosine space."""

    def __init__(self) -> None:
        self.collections: dict[str, dict[str, tuple[list[float], dict[str, Any]]]] = {}

    async def upsert(
        self,
        collection: str,
        *,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        metadatas: Sequence[Metadata],
    ) -> None:
        stored = self.collections.setdefault(collection, {})
        for entry_id, vector, meta in zip(ids, embeddings, metadatas, strict=True):
            stored[entry_id] = (list(vector), dict(meta))

    async def query(
        self, collection: str, *, embedding: Sequence[float], k: int, where: Mapping[str, Any] | None = None
    ) -> list[VectorHit]:
        stored = self.collections.get(collection, {})
        hits = [
            VectorHit(id=i, distance=1.0 - sum(a * b for a, b in zip(v, embedding, strict=True)), metadata=m)
            for i, (v, m) in stored.items()
        ]
        return sorted(hits, key=lambda hit: hit.distance)[:k]

    async def delete(
        self, collection: str, *, ids: Sequence[str] | None = None, where: Mapping[str, Any] | None = None
    ) -> None:
        for entry_id in ids or ():
            self.collections.get(collection, {}).pop(entry_id, None)

    async def drop(self, collection: str) -> None:
        self.collections.pop(collection, None)

    def count(self) -> int:
        return sum(len(stored) for stored in self.collections.values())

    async def names(self, prefix: str = "") -> list[str]:
        return sorted(name for name in self.collections if name.startswith(prefix))

    async def ids(self, collection: str) -> list[str]:
        return list(self.collections.get(collection, {}))

    async def close(self) -> None:
        return None


def entry(
    text: str,
    *,
    kind: KBKind = "retrieved",
    title: str = "",
    scope: str = "global",
    keys: tuple[str, ...] = (),
    priority: int = 0,
    source: str = "manual",
) -> KBEntry:
    return KBEntry(
        id="", title=title, text=text, kind=kind, scope=scope, keys=keys, priority=priority, source=source
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Database | PostgresDatabase:
    """Where the entries live: every test here runs on SQLite (FTS5) and on Postgres."""
    if request.param == "postgres":
        return PostgresDatabase(request.getfixturevalue("postgres_url"))
    return Database(tmp_path / DB_FILE)


@pytest.fixture
async def db(backend: Database | PostgresDatabase) -> AsyncIterator[Database | PostgresDatabase]:
    """This module's `db`: the chosen backend, open."""
    await backend.open()
    yield backend
    await backend.close()


def another_process(db: Database | PostgresDatabase) -> Database | PostgresDatabase:
    """A second connection to the same data (a pool, or the same SQLite file)."""
    return PostgresDatabase(db.url) if isinstance(db, PostgresDatabase) else Database(db.path)


@pytest.fixture
def vectors() -> MemoryVectorIndex:
    return MemoryVectorIndex()


@pytest.fixture
async def kb(
    db: Database | PostgresDatabase, vectors: MemoryVectorIndex
) -> AsyncIterator[SqliteKnowledgeBase]:
    store = SqliteKnowledgeBase(db, vectors=vectors, embedder=HashedBagEmbedder())
    await store.start()
    yield store
    await store.close()


async def pick(
    kb: SqliteKnowledgeBase,
    *,
    query: str = "",
    recent: str = "",
    scopes: Sequence[str] = ("global",),
    budget: int = 10_000,
) -> list[str]:
    chosen = await kb.select(query=query, recent_text=recent, scopes=scopes, token_budget=budget)
    return [e.text for e in chosen]


async def test_constant_entries_are_always_selected_by_priority(kb: SqliteKnowledgeBase) -> None:
    await kb.add(
        [
            entry("The town is called Saltmere.", kind="constant", priority=1),
            entry("Magic is forbidden in Saltmere.", kind="constant", priority=5),
        ]
    )

    assert await pick(kb) == ["Magic is forbidden in Saltmere.", "The town is called Saltmere."]
    assert await pick(kb, query="what's for dinner", recent="nothing related") == [
        "Magic is forbidden in Saltmere.",
        "The town is called Saltmere.",
    ]


async def test_keyword_triggers_fire_only_when_in_recent_text(kb: SqliteKnowledgeBase) -> None:
    await kb.add(
        [entry("Old Tom was a whaler for thirty years.", kind="triggered", keys=("Old Tom", "whaler"))]
    )

    assert await pick(kb, recent="Have you seen old   TOM today?") == [
        "Old Tom was a whaler for thirty years."
    ]
    assert await pick(kb, recent="The WHALER is back") == ["Old Tom was a whaler for thirty years."]
    assert await pick(kb, recent="Tomorrow the whalers sail") == []  # word boundaries: not 'whalers'
    assert await pick(kb, recent="nothing about him") == []
    # The query alone does not trigger: triggers read the recent messages.
    assert await pick(kb, query="old tom", recent="") == []


async def test_regex_triggers_fire_on_a_match(kb: SqliteKnowledgeBase) -> None:
    await kb.add([entry("Ship names are painted in gold.", kind="triggered", keys=(r"/\bHMS\s+\w+/",))])

    assert await pick(kb, recent="the hms Victory docked") == ["Ship names are painted in gold."]
    assert await pick(kb, recent="HMS") == []


async def test_bad_regex_key_is_rejected_with_the_reason(kb: SqliteKnowledgeBase) -> None:
    with pytest.raises(InvalidKey, match=r"bad regex key '/\(unclosed/'"):
        await kb.add([entry("x", kind="triggered", keys=("/(unclosed/",)), entry("fine", kind="constant")])

    assert await kb.list() == []  # nothing written when one entry is bad


async def test_invalid_entries_are_rejected(kb: SqliteKnowledgeBase) -> None:
    with pytest.raises(InvalidEntry, match="needs at least one key"):
        await kb.add([entry("no keys", kind="triggered")])
    with pytest.raises(InvalidEntry, match="bad scope"):
        await kb.add([entry("x", scope="room:discord")])


async def test_budget_keeps_best_first_and_whole_entries(kb: SqliteKnowledgeBase) -> None:
    big = "The harbour chronicle. " + "Long history of the harbour. " * 60
    await kb.add(
        [
            entry("Rule one: be kind.", kind="constant", priority=9),
            entry(big, kind="constant", priority=5),
            entry("Rule three: be brief.", kind="constant", priority=1),
        ]
    )
    small_cost = sum(kb_cost(t) for t in ("Rule one: be kind.", "Rule three: be brief."))

    chosen = await kb.select(query="", recent_text="", scopes=["global"], token_budget=small_cost + 5)

    # The big entry does not fit and is skipped whole; the next best that fits still gets in.
    assert [e.text for e in chosen] == ["Rule one: be kind.", "Rule three: be brief."]
    generous = await pick(kb, budget=10_000)
    assert generous == ["Rule one: be kind.", big, "Rule three: be brief."]


def kb_cost(text: str) -> int:
    from memory.kb.selection import estimate_tokens

    return estimate_tokens(entry_prompt_text(entry(text)))


async def test_order_is_constant_then_triggered_then_retrieved(kb: SqliteKnowledgeBase) -> None:
    await kb.add(
        [
            entry("The lighthouse keeper is Ada.", kind="retrieved"),
            entry("Gulls steal chips.", kind="triggered", keys=("gull",)),
            entry("It always rains.", kind="constant"),
        ]
    )

    got = await pick(kb, query="who keeps the lighthouse", recent="a gull landed")

    assert got == ["It always rains.", "Gulls steal chips.", "The lighthouse keeper is Ada."]


async def test_token_counter_is_injectable(db: Database | PostgresDatabase) -> None:
    words = SqliteKnowledgeBase(db, count_tokens=lambda text: len(text.split()))
    await words.add(
        [entry("one two three", kind="constant", priority=2), entry("four five", kind="constant")]
    )

    chosen = await words.select(query="", recent_text="", scopes=["global"], token_budget=4)

    assert [e.text for e in chosen] == ["one two three"]  # 3 words (+ no title); "four five" would make 5


async def test_room_scoped_entries_stay_in_their_room(kb: SqliteKnowledgeBase) -> None:
    await kb.add(
        [
            entry("Room A's secret password is heron.", kind="constant", scope="room:discord:A"),
            entry("Room A lore about herons.", kind="retrieved", scope="room:discord:A"),
            entry("Global herons nest on the cliffs.", kind="retrieved"),
        ]
    )

    in_b = await pick(kb, query="herons password", scopes=["global", "room:discord:B"])
    in_a = await pick(kb, query="herons password", scopes=["global", "room:discord:A"])

    assert in_b == ["Global herons nest on the cliffs."]
    assert "Room A's secret password is heron." in in_a
    assert "Room A lore about herons." in in_a


async def test_persona_scope_only_reaches_that_persona(kb: SqliteKnowledgeBase) -> None:
    await kb.add(
        [
            entry("Mira speaks in riddles.", kind="constant", scope="persona:mira"),
            entry("Everyone likes tea.", kind="constant"),
        ]
    )

    assert await pick(kb, scopes=["global", "persona:mira"]) == [
        "Mira speaks in riddles.",
        "Everyone likes tea.",
    ]
    assert await pick(kb, scopes=["global", "persona:bob"]) == ["Everyone likes tea."]


async def test_retrieval_has_a_relevance_floor(kb: SqliteKnowledgeBase) -> None:
    await kb.add(
        [
            entry("Paraffin is stored in the oil room below the lantern.", title="Fuel"),
            entry("Ferries leave for the mainland at seven and at noon.", title="Ferries"),
        ]
    )

    assert await pick(kb, query="where is the paraffin stored?") == [
        "Paraffin is stored in the oil room below the lantern."
    ]
    assert await pick(kb, query="what is your favourite colour?") == []
    assert await pick(kb, query="") == []


async def test_retrieval_without_vectors_uses_full_text_search(db: Database | PostgresDatabase) -> None:
    lexical = SqliteKnowledgeBase(db)  # no vector index: FTS5 only
    await lexical.add(
        [
            entry("The ferries leave at seven.", title="Timetable"),
            entry("Mackerel is smoked over oak.", title="Food"),
        ]
    )

    got = await lexical.select(
        query="when do ferry boats leave", recent_text="", scopes=["global"], token_budget=500
    )

    assert [e.text for e in got] == ["The ferries leave at seven."]  # porter stemming: ferry ~ ferries


async def test_dense_retrieval_finds_what_words_alone_miss(db: Database | PostgresDatabase) -> None:
    entries = [
        entry("Boats moor here.", title="Moorings"),
        entry("Tea is served at four."),
    ]
    hybrid = SqliteKnowledgeBase(db, vectors=MemoryVectorIndex(), embedder=HashedBagEmbedder())
    await hybrid.add(entries)
    lexical_only = SqliteKnowledgeBase(db)

    assert await lexical_only.retrieve("any ships?", ["global"]) == []
    assert [e.title for e in await hybrid.retrieve("any ships?", ["global"])] == ["Moorings"]


async def test_re_adding_unchanged_content_is_a_no_op(kb: SqliteKnowledgeBase) -> None:
    batch = [entry("A.", kind="constant"), entry("B."), entry("C.", source="/docs/c.md")]

    assert await kb.add(batch) == 3
    assert await kb.add(batch) == 0
    assert len(await kb.list()) == 3


async def test_changed_source_replaces_its_old_chunks(
    kb: SqliteKnowledgeBase, vectors: MemoryVectorIndex
) -> None:
    source = "/docs/guide.md"
    await kb.add([entry("Intro.", source=source), entry("Old part.", source=source), entry("Manual note.")])

    changed = await kb.add([entry("Intro.", source=source), entry("New part.", source=source)])

    assert changed == 2  # one added, one retired; the unchanged chunk stays
    assert sorted(e.text for e in await kb.list()) == ["Intro.", "Manual note.", "New part."]
    assert vectors.count() == 3  # the retired chunk's vector is gone too
    assert "Old part." not in await pick(kb, query="old part")


async def test_changing_kind_counts_as_a_change(kb: SqliteKnowledgeBase) -> None:
    await kb.add([entry("Gulls.", source="/d.md")])

    assert await kb.add([entry("Gulls.", source="/d.md", kind="constant")]) == 2
    assert [e.kind for e in await kb.list()] == ["constant"]


async def test_remove_and_list(kb: SqliteKnowledgeBase, vectors: MemoryVectorIndex) -> None:
    await kb.add([entry("Keep me.", kind="constant"), entry("Drop me.", scope="persona:mira")])
    listed = await kb.list()
    drop = next(e for e in listed if e.text == "Drop me.")

    assert await kb.remove(drop.id) is True
    assert await kb.remove(drop.id) is False
    assert [e.text for e in await kb.list()] == ["Keep me."]
    assert await kb.list(["persona:mira"]) == []
    assert vectors.count() == 0
    assert await pick(kb, query="drop me", scopes=["persona:mira"]) == []


async def test_list_filters_by_scope_and_round_trips_fields(kb: SqliteKnowledgeBase) -> None:
    await kb.add(
        [
            entry(
                "Lore.",
                title="T",
                kind="triggered",
                keys=("tide", "/moon\\w*/"),
                priority=3,
                scope="room:matrix:!r:x.org",
            )
        ]
    )

    [stored] = await kb.list(["room:matrix:!r:x.org"])

    assert (stored.title, stored.kind, stored.keys, stored.priority) == (
        "T",
        "triggered",
        ("tide", "/moon\\w*/"),
        3,
    )
    assert stored.id.startswith("kb-")
    assert stored.content_hash
    assert stored.created_at is not None
    assert await kb.list(["global"]) == []


async def test_writes_from_another_process_are_seen(db: Database | PostgresDatabase) -> None:
    reader = SqliteKnowledgeBase(db)
    assert await pick(reader) == []
    other_db = another_process(db)  # e.g. `familiar kb add` while the bot runs
    await other_db.open()
    try:
        await SqliteKnowledgeBase(other_db).add([entry("New lore.", kind="constant")])
    finally:
        await other_db.close()

    assert await pick(reader) == ["New lore."]


async def test_a_first_document_is_retrieved_by_the_next_turn(db: Database | PostgresDatabase) -> None:
    """Rooms without documents skip retrieval; adding one (here from another process) is seen."""
    embedder = HashedBagEmbedder()
    vectors = MemoryVectorIndex()
    reader = SqliteKnowledgeBase(db, vectors=vectors, embedder=embedder)
    question = "where do the ferries to the island leave from?"
    assert await pick(reader, query=question) == []
    assert embedder.calls == 0  # nothing to retrieve in this scope: the query is not even embedded
    other_db = another_process(db)
    await other_db.open()
    try:
        await SqliteKnowledgeBase(other_db, vectors=vectors, embedder=embedder).add(
            [entry("Ferries to the island leave from pier 4.")]
        )
    finally:
        await other_db.close()

    assert await pick(reader, query=question) == ["Ferries to the island leave from pier 4."]


async def test_closed_knowledgebase_refuses_work(db: Database | PostgresDatabase) -> None:
    store = SqliteKnowledgeBase(db)
    await store.close()
    await store.close()  # idempotent

    with pytest.raises(RuntimeError, match="closed"):
        await store.list()


async def test_reindex_embeds_entries_added_before_vectors_were_configured(
    db: Database | PostgresDatabase,
) -> None:
    await SqliteKnowledgeBase(db).add(
        [entry("Boats moor here.", title="Moorings"), entry("Rain.", kind="constant")]
    )
    vectors = MemoryVectorIndex()
    hybrid = SqliteKnowledgeBase(db, vectors=vectors, embedder=HashedBagEmbedder())
    assert await hybrid.retrieve("any ships?", ["global"]) == []

    assert (
        await hybrid.reindex_vectors() == 1
    )  # only retrieved entries are embedded (familiar memory reindex)

    assert [e.title for e in await hybrid.retrieve("any ships?", ["global"])] == ["Moorings"]


async def test_only_the_tail_of_long_recent_text_is_scanned(kb: SqliteKnowledgeBase) -> None:
    await kb.add([entry("Gulls steal chips.", kind="triggered", keys=("gull",))])

    assert await pick(kb, recent="gull " + "x" * 10_000) == []
    assert await pick(kb, recent="x" * 10_000 + " gull") == ["Gulls steal chips."]


class FailingDeleteIndex(MemoryVectorIndex):
    async def delete(
        self, collection: str, *, ids: Sequence[str] | None = None, where: Mapping[str, Any] | None = None
    ) -> None:
        raise ConnectionError("vector server went away")


async def test_a_stale_vector_never_leaks_an_entry_into_its_old_room(db: Database | PostgresDatabase) -> None:
    store = SqliteKnowledgeBase(db, vectors=FailingDeleteIndex(), embedder=HashedBagEmbedder())
    moved = KBEntry(id="lore-1", title="Heron", text="The heron nests on the pier.", kind="retrieved")
    await store.add([replace(moved, scope="room:discord:A")])

    await store.add([replace(moved, scope="room:discord:B")])  # the old vector cannot be deleted

    assert await store.retrieve("heron pier", ["room:discord:A"]) == []
    assert [e.scope for e in await store.retrieve("heron pier", ["room:discord:B"])] == ["room:discord:B"]
