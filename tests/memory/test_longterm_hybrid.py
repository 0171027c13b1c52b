from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from memory.chroma import ChromaIndex
from memory.embeddings.onnx import OnnxEmbedder
from memory.lexical import LexicalIndex
from memory.longterm import HybridMemory
from memory.longterm.tuning import RetrievalTuning
from memory.postgres.lexical import PostgresLexicalIndex
from memory.postgres.pool import PostgresDatabase
from memory.records import DM_SCOPE, MemoryItem, MemoryQuery, Visibility
from memory.sqlite.db import Database
from tests.support.chroma_server import ChromaServer

ALICE, BOB = "discord:alice", "discord:bob"
ROOM = "room:discord:general"
NOW = datetime(2023, 6, 1, 10, 0)


# Small visible sets are ranked by an exact scan, large ones through Chroma: run every test both ways.
_PATHS = {
    "exact-scan": RetrievalTuning(),
    "chroma-index": RetrievalTuning(exact_scan_limit=0, interval_scan_limit=0),
}


@pytest.fixture(params=[*sorted(_PATHS), pytest.param("exact-scan on postgres", marks=pytest.mark.postgres)])
def place(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[RetrievalTuning, Database | PostgresDatabase]:
    """Which ranking path, and where the item rows and the lexical index live (SQLite or Postgres:
    the vectors are in Chroma either way)."""
    if request.param.endswith("on postgres"):
        return _PATHS["exact-scan"], PostgresDatabase(request.getfixturevalue("postgres_url"))
    return _PATHS[request.param], Database(tmp_path / "familiar.sqlite3")


def lexical_of(db: Database | PostgresDatabase) -> LexicalIndex | PostgresLexicalIndex:
    """The long-term memory's own lexical index, read directly."""
    if isinstance(db, PostgresDatabase):
        return PostgresLexicalIndex(db, name="ltm_lex")
    return LexicalIndex(db, name="ltm_lex")


@pytest.fixture
async def parts(
    place: tuple[RetrievalTuning, Database | PostgresDatabase], tmp_path: Path, embedder: OnnxEmbedder
) -> AsyncIterator[tuple[Database | PostgresDatabase, HybridMemory]]:
    tuning, db = place
    index = ChromaIndex(model_id=embedder.model_id, dim=embedder.dim, path=tmp_path / "chroma")
    memory = HybridMemory(db=db, vectors=index, embedder=embedder, tuning=tuning)
    await memory.start()
    yield db, memory
    await memory.close()
    await index.close()
    await db.close()


def item(
    item_id: str, text: str, *, owner: str = ALICE, scope: str = DM_SCOPE, days_ago: float = 3
) -> MemoryItem:
    return MemoryItem(
        id=item_id,
        owner=owner,
        scope=scope,
        text=text,
        created_at=NOW - timedelta(days=days_ago),
        source_ids=(f"ev-{item_id}",),
    )


def ask(
    text: str,
    *,
    owners: frozenset[str] = frozenset({ALICE}),
    scope: str = DM_SCOPE,
    shared: bool = False,
    k: int = 3,
) -> MemoryQuery:
    return MemoryQuery(
        text=text, visibility=Visibility(owners=owners, scope=scope, room_shared=shared), now=NOW, k=k
    )


FILLER = [
    "Work was pretty busy today, lots of meetings.",
    "I had a really good coffee this morning.",
    "Traffic was awful on the way home.",
    "I finally cleaned up my inbox.",
    "My phone battery keeps dying so fast.",
    "I watched a documentary about volcanoes.",
]


async def test_semantic_recall_finds_a_paraphrase_that_words_alone_miss(
    parts: tuple[Database | PostgresDatabase, HybridMemory],
) -> None:
    db, memory = parts
    await memory.add([item(f"f{i}", t) for i, t in enumerate(FILLER)])
    await memory.add([item("dog", "We adopted a little beagle puppy last month and named him Biscuit.")])
    question = "What kind of dog do I have?"

    lexical = lexical_of(db)
    from memory.longterm.partitions import visible_tokens

    words_only = await lexical.search(question, partitions=visible_tokens(ask(question).visibility), k=3)
    assert "dog" not in [h.id for h in words_only]

    hits = await memory.search(ask(question))
    assert hits[0].item.id == "dog"
    assert hits[0].item.source_ids == ("ev-dog",)


async def test_add_is_idempotent_by_id(parts: tuple[Database | PostgresDatabase, HybridMemory]) -> None:
    _, memory = parts
    thing = item("x1", "My locker code at the gym is 4471.")
    await memory.add([thing])
    await memory.add([thing, thing])
    assert [i.id for i in await memory.export(frozenset({ALICE}))] == ["x1"]
    assert len([h for h in await memory.search(ask("gym locker code", k=10)) if h.item.id == "x1"]) == 1


async def test_another_persons_memories_are_never_returned(
    parts: tuple[Database | PostgresDatabase, HybridMemory],
) -> None:
    _, memory = parts
    await memory.add(
        [
            item("a-key", "My door code is 1234 and I keep forgetting it."),
            item("b-key", "My door code is 9876, please remember it.", owner=BOB),
            item("b-room", "The door code for the studio is 5555.", owner=BOB, scope=ROOM),
        ]
    )
    for query in (ask("what is my door code", k=10), ask("door code", scope=ROOM, k=10)):
        assert {h.item.owner for h in await memory.search(query)} <= {ALICE}
    bob_hits = await memory.search(ask("door code", owners=frozenset({BOB}), k=10))
    assert {h.item.id for h in bob_hits} == {"b-key", "b-room"}


async def test_dm_memories_stay_out_of_rooms_and_room_sharing_follows_policy(
    parts: tuple[Database | PostgresDatabase, HybridMemory],
) -> None:
    _, memory = parts
    await memory.add(
        [
            item("dm", "I have a private doctor's appointment about my knee on Friday."),
            item("mine-room", "In the group I said my knee hurts after running.", scope=ROOM),
            item("bob-room", "Bob told the room his knee is fine now.", owner=BOB, scope=ROOM),
            item("bob-other", "Bob's knee story in another room.", owner=BOB, scope="room:discord:other"),
        ]
    )
    in_room = {h.item.id for h in await memory.search(ask("knee", scope=ROOM, k=10))}
    assert in_room == {"mine-room"}
    shared = {h.item.id for h in await memory.search(ask("knee", scope=ROOM, shared=True, k=10))}
    assert shared == {"mine-room", "bob-room"}
    in_dm = {h.item.id for h in await memory.search(ask("knee", k=10))}
    assert in_dm == {"dm", "mine-room"}


async def test_forget_removes_from_vectors_lexical_and_items(
    parts: tuple[Database | PostgresDatabase, HybridMemory],
) -> None:
    db, memory = parts
    await memory.add(
        [
            item("secret", "My bank PIN is 2468, keep it safe."),
            item("room-secret", "I told everyone my bank is Monzo.", scope=ROOM),
            item("keep", "I love hiking in the mountains."),
            item("bob", "My bank PIN is 1357.", owner=BOB),
        ]
    )
    assert await memory.forget(frozenset({ALICE}), "BANK") == 2
    assert [i.id for i in await memory.export(frozenset({ALICE}))] == ["keep"]
    assert all(h.item.id == "keep" for h in await memory.search(ask("bank PIN", k=10)))
    assert all(h.item.id == "keep" for h in await memory.search(ask("bank", scope=ROOM, shared=True, k=10)))
    rows = await db.fetchall("SELECT doc_id FROM ltm_lex_entries")
    assert {r[0] for r in rows} == {"keep", "bob"}
    vectors = memory._vectors
    assert isinstance(vectors, ChromaIndex)
    from memory.longterm.partitions import owner_collection, room_collection

    assert await vectors.count(owner_collection(ALICE, dm=True)) == 1
    assert await vectors.count(room_collection(ROOM)) == 0
    assert await vectors.count(owner_collection(BOB, dm=True)) == 1
    assert await memory.forget(frozenset({ALICE})) == 1
    assert await memory.search(ask("hiking", k=10)) == []


async def test_a_time_expression_narrows_to_the_right_session(
    parts: tuple[Database | PostgresDatabase, HybridMemory],
) -> None:
    _, memory = parts
    days = {1: "bouldering at the climbing gym", 8: "a picnic by the river", 15: "baking sourdough bread"}
    await memory.add(
        [
            item(f"d{d}", f"Today I spent the afternoon on {what}.", days_ago=d - 0.2)
            for d, what in days.items()
        ]
    )
    await memory.add([item(f"f{i}", t, days_ago=i + 0.5) for i, t in enumerate(FILLER)])
    top = await memory.search(ask("What did I do yesterday?", k=1))
    assert top[0].item.id == "d1"
    on_day = await memory.search(ask("What did I get up to on 17 May 2023?", k=1))
    assert on_day[0].item.id == "d15"


async def test_near_duplicates_collapse_and_keep_their_sources(
    parts: tuple[Database | PostgresDatabase, HybridMemory],
) -> None:
    _, memory = parts
    await memory.add(
        [
            item("v1", "My favourite band is Radiohead."),
            item("v2", "My favourite band is Radiohead!", days_ago=2),
            item("other", "My favourite food is ramen."),
        ]
    )
    hits = await memory.search(ask("favourite band", k=3))
    band = [h for h in hits if "Radiohead" in h.item.text]
    assert len(band) == 1
    assert set(band[0].item.source_ids) == {"ev-v1", "ev-v2"}


async def test_the_same_memory_works_against_a_chroma_server(tmp_path: Path, embedder: OnnxEmbedder) -> None:
    async with ChromaServer(tmp_path / "server") as server:
        db = Database(tmp_path / "familiar.sqlite3")
        index = ChromaIndex(model_id=embedder.model_id, dim=embedder.dim, host=server.host, port=server.port)
        memory = HybridMemory(db=db, vectors=index, embedder=embedder)
        try:
            await memory.add([item(f"f{i}", t) for i, t in enumerate(FILLER)])
            await memory.add([item("car", "I drive an old Volvo my father gave me.", owner=ALICE)])
            await memory.add([item("bob-car", "I drive a red Tesla.", owner=BOB)])
            hits = await memory.search(ask("What vehicle do I own?", k=2))
            assert hits[0].item.id == "car"
            assert all(h.item.owner == ALICE for h in hits)
        finally:
            await memory.close()
            await index.close()
            await db.close()


async def test_a_restart_loads_the_largest_recent_partitions_in_the_background(
    tmp_path: Path, embedder: OnnxEmbedder
) -> None:
    from memory.longterm.partitions import owner_collection, room_collection

    def opened(warm: int) -> tuple[Database, ChromaIndex, HybridMemory]:
        db = Database(tmp_path / "familiar.sqlite3")
        index = ChromaIndex(model_id=embedder.model_id, dim=embedder.dim, path=tmp_path / "chroma")
        tuning = RetrievalTuning(exact_scan_limit=3, warm_partitions=warm)
        return db, index, HybridMemory(db=db, vectors=index, embedder=embedder, tuning=tuning)

    db, index, memory = opened(warm=0)
    await memory.add([item(f"a{i}", FILLER[i], days_ago=10 - i) for i in range(5)])  # big, older
    await memory.add([item(f"r{i}", FILLER[i], owner=BOB, scope=ROOM, days_ago=1) for i in range(4)])
    await memory.add([item("c1", FILLER[0], owner="discord:carol", days_ago=0)])  # recent but small
    assert await memory.warmed() == []
    await memory.close()
    await index.close()
    await db.close()

    db, index, memory = opened(warm=8)
    await memory.start()
    # bob's room items fill his rooms partition and the room's shared one; newest first
    warmed = await memory.warmed()
    assert set(warmed[:2]) == {owner_collection(BOB, dm=False), room_collection(ROOM)}
    assert warmed[2:] == [owner_collection(ALICE, dm=True)]
    assert (await memory.search(ask("my phone battery")))[0].item.id == "a4"
    await memory.close()
    await index.close()
    await db.close()


async def test_an_answer_is_found_through_the_question_it_answered(
    parts: tuple[Database | PostgresDatabase, HybridMemory],
) -> None:
    _, memory = parts
    await memory.add([item(f"f{i}", t) for i, t in enumerate(FILLER)])
    answer = item("co", "Flinkwerk! Small team, about forty people.")
    await memory.add([replace(answer, context="Congrats on the new job! Which company is it?")])
    hits = await memory.search(ask("Where did I get a job?"))
    assert hits[0].item.id == "co"
    assert hits[0].item.text == "Flinkwerk! Small team, about forty people."


async def test_the_persons_own_statement_outranks_the_personas_question_about_it(
    parts: tuple[Database | PostgresDatabase, HybridMemory],
) -> None:
    _, memory = parts
    await memory.add([item(f"f{i}", t) for i, t in enumerate(FILLER)])
    said = item("said", "We adopted a greyhound last month, he's called Biscuit.", days_ago=20)
    asked = replace(
        item("asked", "How is your new dog doing? Still chewing shoes?", days_ago=1), role="assistant"
    )
    await memory.add([said, asked])
    hits = await memory.search(ask("What dog do I have?", k=5))
    assert hits[0].item.id == "said"
    # a question about what the persona itself said finds its line
    hits = await memory.search(ask("What did you ask me about my dog?", k=5))
    assert hits[0].item.id == "asked"
