"""The knowledgebase with the real local embedding model (MiniLM, ONNX) and embedded Chroma."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from memory.chroma.index import ChromaIndex
from memory.embeddings.onnx import OnnxEmbedder
from memory.kb import SqliteKnowledgeBase, ingest_paths
from memory.sqlite.db import Database

DATA = Path(__file__).resolve().parents[1] / "data" / "kb"


@pytest.fixture
async def embedder() -> AsyncIterator[OnnxEmbedder]:
    model = OnnxEmbedder(threads=2)
    await model.start()
    yield model
    await model.close()


async def test_real_model_retrieves_by_meaning_and_keeps_chatter_out(
    tmp_path: Path, embedder: OnnxEmbedder
) -> None:
    db = Database(tmp_path / "kb.db")
    await db.open()
    chroma = ChromaIndex(model_id=embedder.model_id, dim=embedder.dim, path=tmp_path / "chroma")
    await chroma.start()
    kb = SqliteKnowledgeBase(db, vectors=chroma, embedder=embedder)
    try:
        report = await ingest_paths(kb, [DATA], scope="global")
        assert report.changed_files == 4
        assert await chroma.count(kb.vector_collection("global")) == 10

        async def titles(query: str) -> list[str]:
            return [e.title for e in await kb.retrieve(query, ["global"])]

        # No shared word with the entry ("Paraffin is stored in the oil room..."): meaning only.
        assert (await titles("where do we keep the lamp fuel?"))[
            0
        ] == "Lighthouse Keeper's Handbook > Lamp > Fuel"
        assert (await titles("when can I catch a boat to the mainland"))[0] == "harbour"
        assert await titles("lol ok") == []
        assert await titles("what is your favourite colour?") == []
        assert await titles("hi, how are you?") == []

        # Removing an entry removes its vector: it can no longer be found by meaning.
        [fuel] = [e for e in await kb.list() if e.title.endswith("> Fuel")]
        assert await kb.remove(fuel.id)
        assert "Lighthouse Keeper's Handbook > Lamp > Fuel" not in await titles("where is the kerosene kept?")
    finally:
        await kb.close()
        await chroma.close()
        await db.close()
