"""A long turn is found by the one sentence that answers the question, not only by its average."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from memory.chroma import ChromaIndex
from memory.embeddings.onnx import OnnxEmbedder
from memory.longterm import HybridMemory, RetrievalTuning
from memory.longterm.exact import Rows, exact_rankings
from memory.longterm.rows import pack_vector
from memory.longterm.sentences import pack_sentence_vectors, sentence_spans, sentences
from memory.postgres.pool import PostgresDatabase
from memory.records import DM_SCOPE, MemoryItem, MemoryQuery, Visibility
from memory.sqlite.db import Database

ALICE = "discord:alice"
NOW = datetime(2023, 6, 1, 10, 0)
LONG = (
    "Work has been brutal this month and my manager keeps moving every deadline around. "
    "The kids both caught colds at school, so nobody slept. "
    "My sister finally told me she is moving to Lisbon in the spring. "
    "Anyway, enough about my week, how was the trip with your friends?"
)
# Each close to the long turn as a whole, or to the question in its words, none its answer.
OTHERS = [
    "My manager moved the deadline again, work has been brutal.",
    "The kids caught colds at school and nobody slept this week.",
    "How was the trip with your friends? Tell me everything.",
    "My cousin is thinking about a new apartment downtown.",
    "We might change offices to the second floor next quarter.",
]
QUESTION = "Where is my sister moving to?"


def test_a_turn_keeps_the_sentences_worth_a_vector_of_their_own() -> None:
    assert sentences("I adopted a beagle last month.") == []
    assert sentences("Wow! We adopted a beagle last month. His name is Biscuit, he is tiny.") == [
        "We adopted a beagle last month.",
        "His name is Biscuit, he is tiny.",
    ]
    # An attachment note starts a piece of its own; a pasted essay stops at eight pieces.
    shared = sentences("Look at this one I made last week! [shares an image: a painted lake at dawn]")
    assert shared == ["Look at this one I made last week!", "[shares an image: a painted lake at dawn]"]
    essay = " ".join(f"This is sentence number {n} of a very long paste." for n in range(20))
    pieces = sentences(essay)
    assert len(pieces) == 8
    assert pieces[-1].endswith("number 19 of a very long paste.")


async def test_the_best_sentence_ranks_a_long_turn_its_own_vector_buries(embedder: OnnxEmbedder) -> None:
    texts = {f"o{n}": text for n, text in enumerate(OTHERS)} | {"long": LONG}
    ids = list(texts)
    own, by_sentence = await embedder.embed_parts(
        [texts[i] for i in ids], [sentence_spans(texts[i]) for i in ids]
    )
    rows = Rows(
        ids=ids,
        ts=np.zeros(len(ids)),
        blobs=[pack_vector(v) for v in own],
        sentence_blobs=[pack_sentence_vectors(found) for found in by_sentence],
    )
    ranked = exact_rankings(rows, (await embedder.embed([QUESTION]))[0], 6, None)
    assert ranked.anywhere[0] != "long"  # as a whole it is about work and the kids
    assert ranked.best_sentence[0] == "long"


def _item(item_id: str, text: str) -> MemoryItem:
    return MemoryItem(
        id=item_id,
        owner=ALICE,
        scope=DM_SCOPE,
        text=text,
        created_at=NOW - timedelta(days=3),
        source_ids=(f"ev-{item_id}",),
    )


def _ask(text: str) -> MemoryQuery:
    visibility = Visibility(owners=frozenset({ALICE}), scope=DM_SCOPE)
    return MemoryQuery(text=text, visibility=visibility, now=NOW, k=1)


# The sentence vote alone, so a search shows whether the stored sentence vectors are there.
_SENTENCES_ONLY = RetrievalTuning(dense_weight=0.0, lexical_weight=0.0, sentence_weight=1.0)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Database | PostgresDatabase:
    """Where the item rows (and so the sentence vectors) live."""
    if request.param == "postgres":
        return PostgresDatabase(request.getfixturevalue("postgres_url"))
    return Database(tmp_path / "familiar.sqlite3")


@pytest.fixture
async def memory(
    db: Database | PostgresDatabase, tmp_path: Path, embedder: OnnxEmbedder
) -> AsyncIterator[HybridMemory]:
    index = ChromaIndex(model_id=embedder.model_id, dim=embedder.dim, path=tmp_path / "chroma")
    store = HybridMemory(db=db, vectors=index, embedder=embedder, tuning=_SENTENCES_ONLY)
    await store.start()
    yield store
    await store.close()
    await index.close()
    await db.close()


async def test_sentence_vectors_are_stored_with_the_turn_and_kept_through_a_reindex(
    memory: HybridMemory,
) -> None:
    await memory.add([_item(f"o{n}", text) for n, text in enumerate(OTHERS)] + [_item("long", LONG)])
    assert [h.item.id for h in await memory.search(_ask(QUESTION))] == ["long"]
    assert await memory.reindex() == len(OTHERS) + 1
    assert [h.item.id for h in await memory.search(_ask(QUESTION))] == ["long"]


async def test_memories_moved_in_with_their_vectors_get_their_sentences_embedded(
    memory: HybridMemory, embedder: OnnxEmbedder
) -> None:
    moved = [_item(f"o{n}", text) for n, text in enumerate(OTHERS)] + [_item("long", LONG)]
    vectors = await embedder.embed([i.text for i in moved])
    assert await memory.restore(list(zip(moved, vectors, strict=True))) == len(moved)
    assert [h.item.id for h in await memory.search(_ask(QUESTION))] == ["long"]


class _TextsOnly:
    """An embedder that embeds whole texts only, as a provider's API does."""

    def __init__(self, model: OnnxEmbedder) -> None:
        self.model_id, self.dim, self._model = model.model_id, model.dim, model

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await self._model.embed(texts)

    async def close(self) -> None:
        return None


async def test_an_embedder_of_whole_texts_only_embeds_each_sentence_on_its_own(
    tmp_path: Path, embedder: OnnxEmbedder
) -> None:
    db = Database(tmp_path / "familiar.sqlite3")
    index = ChromaIndex(model_id=embedder.model_id, dim=embedder.dim, path=tmp_path / "chroma")
    store = HybridMemory(db=db, vectors=index, embedder=_TextsOnly(embedder), tuning=_SENTENCES_ONLY)
    try:
        await store.add([_item(f"o{n}", text) for n, text in enumerate(OTHERS)] + [_item("long", LONG)])
        assert [h.item.id for h in await store.search(_ask(QUESTION))] == ["long"]
    finally:
        await store.close()
        await index.close()
        await db.close()


@pytest.mark.parametrize("asked", [QUESTION, "Which city is my sister moving to, this week?"])
async def test_a_partition_too_big_for_the_exact_scan_still_ranks_a_turn_by_its_best_sentence(
    db: Database | PostgresDatabase, tmp_path: Path, embedder: OnnxEmbedder, asked: str
) -> None:
    # Six items over a limit of two: the ANN index serves, and it holds the items' own vectors.
    # A faint vote of those vectors breaks the tie a missing sentence list would leave.
    tuning = dataclasses.replace(_SENTENCES_ONLY, exact_scan_limit=2, time_weight=0.0, dense_weight=0.05)
    index = ChromaIndex(model_id=embedder.model_id, dim=embedder.dim, path=tmp_path / "chroma")
    store = HybridMemory(db=db, vectors=index, embedder=embedder, tuning=tuning)
    try:
        await store.add([_item(f"o{n}", text) for n, text in enumerate(OTHERS)] + [_item("long", LONG)])
        assert [h.item.id for h in await store.search(_ask(asked))] == ["long"]
    finally:
        await store.close()
        await index.close()
        await db.close()
