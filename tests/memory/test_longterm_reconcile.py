"""Nothing stays in an index without its item row: the start-up reconcile removes what a kill
between `add`'s writes left (vectors and a lexical entry, no row), and forgetting everything
sweeps every index by owner, in the person's partitions and every room's (real embedded Chroma)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from memory.chroma import ChromaIndex
from memory.lexical import LexicalDoc, LexicalIndex, partition_token
from memory.longterm import HybridMemory, partitions
from memory.records import DM_SCOPE, MemoryItem
from memory.sqlite.db import Database
from tests.memory.test_kb_store import HashedBagEmbedder

ALICE, BOB = "discord:alice", "discord:bob"
ROOM = "room:discord:general"


@pytest.fixture
async def parts(tmp_path: Path) -> AsyncIterator[tuple[Database, ChromaIndex, HybridMemory]]:
    db = Database(tmp_path / "familiar.db")
    embedder = HashedBagEmbedder()
    index = ChromaIndex(model_id=embedder.model_id, dim=embedder.dim, path=tmp_path / "chroma")
    memory = HybridMemory(db=db, vectors=index, embedder=embedder)
    await memory.start()
    yield db, index, memory
    await memory.close()
    await index.close()
    await db.close()


def item(item_id: str, text: str, *, owner: str = ALICE, scope: str = DM_SCOPE) -> MemoryItem:
    return MemoryItem(
        id=item_id, owner=owner, scope=scope, text=text, created_at=datetime.now(UTC), source_ids=(item_id,)
    )


async def _half_added(db: Database, index: ChromaIndex, ghost: MemoryItem) -> None:
    """What `add` leaves when killed before its last write (the row)."""
    vector = [1.0] + [0.0] * 255
    for name in partitions.item_collections(ghost):
        await index.upsert(
            name,
            ids=[ghost.id],
            embeddings=[vector],
            metadatas=[{"owner": ghost.owner, "scope": ghost.scope, "ts": 0.0}],
        )
    lexical = LexicalIndex(db, name="ltm_lex")
    await lexical.add(
        [LexicalDoc(id=ghost.id, text=ghost.text, partitions=partitions.item_tokens(ghost), timestamp=0.0)]
    )


async def _everything(db: Database, index: ChromaIndex) -> tuple[set[str], set[str]]:
    vectors: set[str] = set()
    for name in await index.names("ltm-"):
        vectors |= set(await index.ids(name))
    lexical = {str(r[0]) for r in await db.fetchall("SELECT doc_id FROM ltm_lex_entries")}
    return vectors, lexical


async def test_reconcile_removes_index_entries_without_their_row(
    parts: tuple[Database, ChromaIndex, HybridMemory],
) -> None:
    db, index, memory = parts
    await memory.add([item("kept", "my bike is green"), item("kept-room", "hello all", scope=ROOM)])
    await _half_added(db, index, item("ghost", "my alarm code is 1531x84", scope=ROOM))

    assert await memory.reconcile() == 3  # two vectors (own and room partition) and a lexical entry

    assert await _everything(db, index) == ({"kept", "kept-room"}, {"kept", "kept-room"})
    assert await memory.reconcile() == 0


async def test_forgetting_everything_sweeps_every_index_by_owner(
    parts: tuple[Database, ChromaIndex, HybridMemory],
) -> None:
    db, index, memory = parts
    await memory.add([item("a1", "my cat is Miso"), item("b1", "Bob's boat", owner=BOB, scope=ROOM)])
    await _half_added(db, index, item("ghost", "my alarm code is 1531x84", scope=ROOM))

    assert await memory.forget(frozenset({ALICE})) == 1  # the item table listed only a1

    assert await _everything(db, index) == ({"b1"}, {"b1"})
    assert partition_token("d", ALICE) not in str(await db.fetchall("SELECT parts FROM ltm_lex_entries"))


async def test_an_add_finishing_in_another_process_keeps_its_entries(
    parts: tuple[Database, ChromaIndex, HybridMemory],
) -> None:
    # With a shared queue another process may be between an add's first write and its row when
    # this one starts: only what is still without a row after the settle goes.
    db, index, memory = parts
    finishing, ghost = (
        item("finishing", "we moved to Alder Street"),
        item("ghost", "my alarm code is 1531x84"),
    )
    await _half_added(db, index, finishing)
    await _half_added(db, index, ghost)
    reconciling = asyncio.create_task(memory.reconcile(settle_s=0.5), name="reconcile-under-test")
    await asyncio.sleep(0.1)
    await memory.add([finishing])  # the other process writes its row (and rewrites its entries)

    assert await reconciling == 2  # the ghost's vector and lexical entry
    assert await _everything(db, index) == ({"finishing"}, {"finishing"})
