from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from memory.lexical import LexicalDoc, LexicalIndex, partition_token, query_terms
from memory.sqlite.db import Database

ALICE, BOB = partition_token("d", "alice"), partition_token("d", "bob")


def doc(doc_id: str, text: str, part: str = ALICE, ts: float = 0.0) -> LexicalDoc:
    return LexicalDoc(id=doc_id, text=text, partitions=(part,), timestamp=ts)


async def test_ranks_by_bm25_within_the_callers_partitions_only(db: Database) -> None:
    index = LexicalIndex(db, name="t")
    await index.start()
    await index.add(
        [
            doc("a1", "I went sailing on the lake with my uncle"),
            doc("a2", "sailing sailing sailing, the boat and the lake"),
            doc("a3", "bought groceries"),
            doc("b1", "Bob went sailing on the lake too", part=BOB),
        ]
    )
    hits = await index.search("Tell me about sailing on the lake", partitions=[ALICE], k=10)
    assert [h.id for h in hits][:2] == ["a2", "a1"]
    assert "b1" not in {h.id for h in hits}
    assert "a3" not in {h.id for h in hits}
    assert {h.id for h in await index.search("sailing", partitions=[ALICE, BOB], k=10)} == {"a1", "a2", "b1"}
    assert await index.search("sailing", partitions=[], k=10) == []


async def test_add_replaces_by_id_and_survives_reopening(tmp_path: Path) -> None:
    first = Database(tmp_path / "lex.sqlite3")
    index = LexicalIndex(first, name="t")
    await index.start()
    await index.add([doc("x", "my favourite colour is teal")])
    await index.add([doc("x", "my favourite colour is orange now")])
    await first.close()

    reopened = Database(tmp_path / "lex.sqlite3")
    index = LexicalIndex(reopened, name="t")
    await index.start()
    assert await index.search("teal", partitions=[ALICE], k=5) == []
    assert [h.id for h in await index.search("orange colour", partitions=[ALICE], k=5)] == ["x"]
    await index.delete(["x"])
    assert await index.search("orange", partitions=[ALICE], k=5) == []
    await reopened.close()


async def test_time_bounds_and_stemming(db: Database) -> None:
    index = LexicalIndex(db, name="t")
    await index.start()
    await index.add(
        [doc("old", "we were baking bread", ts=100.0), doc("new", "I baked bread again", ts=200.0)]
    )
    assert {h.id for h in await index.search("bake", partitions=[ALICE], k=5)} == {"old", "new"}
    inside = await index.search("bake", partitions=[ALICE], k=5, since=150.0, until=250.0)
    assert [h.id for h in inside] == ["new"]


def test_question_scaffolding_is_not_searched_for() -> None:
    assert query_terms("What did I tell you about my sister yesterday?") == ["sister"]
    assert query_terms('He said "DROP" OR 1=1 NEAR(x*') == ["drop", "1", "near"]


async def test_fts_syntax_in_a_query_is_treated_as_words(db: Database) -> None:
    index = LexicalIndex(db, name="t")
    await index.start()
    await index.add([doc("q", "the NEAR operator and a star")])
    hits = await index.search('NEAR( "star* OR -', partitions=[ALICE], k=5)
    assert [h.id for h in hits] == ["q"]


async def test_a_document_is_found_through_each_of_its_partitions_and_forgotten_from_all(
    db: Database,
) -> None:
    room = partition_token("s", "room:1")
    index = LexicalIndex(db, name="t")
    await index.start()
    await index.add(
        [LexicalDoc(id="r", text="the café on Alder Street", partitions=(ALICE, room), timestamp=0.0)]
    )
    assert [h.id for h in await index.search("cafe alder", partitions=[ALICE], k=5)] == ["r"]
    assert [h.id for h in await index.search("Café", partitions=[room], k=5)] == ["r"]
    assert await index.search("cafe", partitions=[BOB], k=5) == []
    await index.delete(["r"])
    for partitions in ([ALICE], [room]):
        assert await index.search("cafe alder street", partitions=partitions, k=5) == []
    # the contentless index really dropped the tokens (a wrong 'delete' would corrupt it instead)
    await db.execute("INSERT INTO t_terms(t_terms) VALUES('integrity-check')")


async def test_partitions_must_be_tokens(db: Database) -> None:
    index = LexicalIndex(db, name="t")
    await index.start()
    with pytest.raises(ValueError, match="partition"):
        await index.add([LexicalDoc(id="x", text="hello", partitions=('" OR x',), timestamp=0.0)])
    with pytest.raises(ValueError, match="partition"):
        await index.add([LexicalDoc(id="x", text="hello", partitions=(), timestamp=0.0)])


async def test_an_index_in_the_first_schema_is_rebuilt_on_start(db: Database) -> None:
    await db.execute(
        "CREATE TABLE t_docs (rowid INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE, ts REAL NOT NULL)"
    )
    await db.execute("CREATE VIRTUAL TABLE t_fts USING fts5(body, part, tokenize = 'porter unicode61')")
    rows = [
        (1, "old", 10.0, "we adopted a greyhound", ALICE),
        (2, "new", 20.0, "a greyhound puppy too", ALICE),
    ]
    for rowid, doc_id, ts, body, part in rows:
        await db.execute("INSERT INTO t_docs VALUES (?, ?, ?)", [rowid, doc_id, ts])
        await db.execute("INSERT INTO t_fts(rowid, body, part) VALUES (?, ?, ?)", [rowid, body, part])

    index = LexicalIndex(db, name="t")
    await index.start()
    assert {h.id for h in await index.search("greyhounds", partitions=[ALICE], k=5)} == {"old", "new"}
    assert [h.id for h in await index.search("greyhound", partitions=[ALICE], k=5, since=15.0)] == ["new"]
    assert await db.fetchone("SELECT 1 FROM sqlite_master WHERE name = 't_fts'") is None
    await index.add([doc("later", "another greyhound")])  # rowids continue after the rebuilt ones
    assert {h.id for h in await index.search("greyhound", partitions=[ALICE], k=5)} == {"old", "new", "later"}


async def test_one_pass_gives_the_best_anywhere_and_the_best_inside_an_interval(db: Database) -> None:
    index = LexicalIndex(db, name="t")
    await index.start()
    await index.add(
        [
            doc("old-best", "sourdough sourdough sourdough starter", ts=10.0),
            doc("old", "a sourdough loaf", ts=20.0),
            doc("week-best", "sourdough sourdough starter again", ts=110.0),
            doc("week", "sourdough with seeds and a long loaf of other words", ts=120.0),
            doc("unrelated", "the lake in the morning", ts=115.0),
        ]
    )
    anywhere, inside = await index.search_within(
        "sourdough", partitions=[ALICE], k=3, since=100.0, until=200.0
    )
    assert [h.id for h in anywhere] == ["old-best", "week-best", "old"]
    assert [h.id for h in inside] == ["week-best", "week"]
    assert all(a.score >= b.score for a, b in pairwise(anywhere))
    assert await index.search_within("sourdough", partitions=[BOB], k=3, since=100.0, until=200.0) == ([], [])


async def test_over_its_budget_a_search_keeps_the_rare_words_and_the_newest_matches(db: Database) -> None:
    """A heavy partition: "coffee" is in every document, "Lisbon" in one. Scoring at most four
    matches, the common word is dropped and the rare one still finds its document; a word too
    common even alone is scored on its newest matches only."""
    index = LexicalIndex(db, name="t", max_scored=4)
    await index.start()
    await index.add([doc(f"c{n}", f"coffee with friends, day {n}", ts=float(n)) for n in range(10)])
    await index.add([doc("trip", "coffee in Lisbon at the harbour", ts=10.0)])

    hits = await index.search("coffee in Lisbon", partitions=[ALICE], k=5)
    assert [h.id for h in hits] == ["trip"]
    newest = await index.search("coffee", partitions=[ALICE], k=10)
    assert {h.id for h in newest} == {"trip", "c9", "c8", "c7"}
    unbounded = LexicalIndex(db, name="t", max_scored=0)
    assert len(await unbounded.search("coffee", partitions=[ALICE], k=20)) == 11
