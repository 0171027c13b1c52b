from __future__ import annotations

from pathlib import Path

import pytest

from memory.chroma import ChromaIndex, EmbeddingMismatchError
from tests.support.chroma_server import ChromaServer


def _vec(*head: float, dim: int = 8) -> list[float]:
    v = list(head) + [0.0] * (dim - len(head))
    norm = sum(x * x for x in v) ** 0.5
    return [x / norm for x in v]


async def _exercise(index: ChromaIndex) -> None:
    await index.upsert(
        "notes-a",
        ids=["n1", "n2", "n3"],
        embeddings=[_vec(1, 0), _vec(0, 1), _vec(1, 1)],
        metadatas=[{"ts": 1.0}, {"ts": 2.0}, {"ts": 3.0}],
    )
    hits = await index.query("notes-a", embedding=_vec(1, 0.1), k=2, details=True)
    assert [h.id for h in hits] == ["n1", "n3"]
    assert hits[0].metadata == {"ts": 1.0}
    assert [h.metadata for h in await index.query("notes-a", embedding=_vec(1, 0.1), k=2)] == [{}, {}]
    assert hits[0].distance < hits[1].distance
    filtered = await index.query("notes-a", embedding=_vec(1, 0.1), k=5, where={"ts": {"$gte": 2.0}})
    assert [h.id for h in filtered] == ["n3", "n2"]
    await index.delete("notes-a", ids=["n1"])
    assert [h.id for h in await index.query("notes-a", embedding=_vec(1, 0), k=5)] == ["n3", "n2"]
    assert await index.query("never-written", embedding=_vec(1), k=3) == []


async def test_embedded_store_upserts_queries_and_deletes(tmp_path: Path) -> None:
    index = ChromaIndex(model_id="test-model", dim=8, path=tmp_path / "chroma")
    try:
        await _exercise(index)
    finally:
        await index.close()
        await index.close()


async def test_server_mode_against_a_real_chroma_run(tmp_path: Path) -> None:
    async with ChromaServer(tmp_path / "server") as server:
        index = ChromaIndex(model_id="test-model", dim=8, host=server.host, port=server.port)
        try:
            await _exercise(index)
        finally:
            await index.close()


async def test_refuses_to_mix_models_or_dimensions(tmp_path: Path) -> None:
    first = ChromaIndex(model_id="model-a", dim=8, path=tmp_path / "chroma")
    await first.upsert("mem-x", ids=["a"], embeddings=[_vec(1)], metadatas=[{"ts": 1.0}])
    with pytest.raises(EmbeddingMismatchError, match="dimensions"):
        await first.upsert("mem-x", ids=["b"], embeddings=[[1.0, 0.0]], metadatas=[{"ts": 1.0}])
    await first.close()

    other_model = ChromaIndex(model_id="model-b", dim=8, path=tmp_path / "chroma")
    with pytest.raises(EmbeddingMismatchError, match="model-a"):
        await other_model.query("mem-x", embedding=_vec(1), k=1)
    await other_model.close()

    other_dim = ChromaIndex(model_id="model-a", dim=16, path=tmp_path / "chroma")
    with pytest.raises(EmbeddingMismatchError, match="dim 8"):
        await other_dim.query("mem-x", embedding=_vec(1, dim=16), k=1)
    await other_dim.close()
