from __future__ import annotations

import asyncio
import math
import threading
from pathlib import Path
from typing import Any

import pytest

from memory.embeddings.onnx import OnnxEmbedder
from memory.embeddings.openai_api import OpenAIEmbedder
from tests.support.llm_server import LLMServer, llm_server

__all__ = ["llm_server"]  # the fixture, registered by import


def _models_in(directory: Path) -> list[tuple[str, int]]:
    return [(p.name, p.stat().st_mtime_ns) for p in directory.glob("*.onnx")]


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _model_runs(embedder: OnnxEmbedder) -> list[list[str]]:
    """The texts of each model run the embedder makes from now on, in order."""
    runs: list[list[str]] = []
    original = embedder._embed_batch

    def spy(texts: list[str]) -> Any:
        runs.append(texts)
        return original(texts)

    embedder._embed_batch = spy  # type: ignore[method-assign]  # our own class, not an SDK
    return runs


async def test_local_model_embeds_meaning_offline() -> None:
    embedder = OnnxEmbedder()
    try:
        cat, kitten, stocks = await embedder.embed(
            ["The cat sits on the mat", "A kitten is resting on the rug", "Stock markets fell sharply today"]
        )
        assert embedder.dim == 384
        assert len(cat) == 384
        assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-4) for v in (cat, kitten, stocks))
        assert _cos(cat, kitten) > 0.5 > _cos(cat, stocks) + 0.3
        assert "MiniLM" in embedder.model_id
    finally:
        await embedder.close()
        await embedder.close()


async def test_batches_keep_input_order_and_run_off_the_event_loop() -> None:
    embedder = OnnxEmbedder()
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = embedder._embed_batch

    def spy(texts: list[str]) -> Any:
        seen.append(threading.get_ident())
        return original(texts)

    embedder._embed_batch = spy  # type: ignore[method-assign]  # our own class, not an SDK
    try:
        texts = [f"sentence number {i} " + "word " * (i % 7) for i in range(11)]
        together = await embedder.embed([*texts, texts[3]])
        assert together[11] == together[3]
        alone = [(await embedder.embed([t]))[0] for t in (texts[0], texts[10])]
        # a text's vector does not depend on what it was embedded with
        assert _cos(together[0], alone[0]) > 0.9999
        assert _cos(together[10], alone[1]) > 0.9999
        assert len(seen) >= 3
        assert loop_thread not in seen
    finally:
        await embedder.close()


async def test_one_message_embedded_by_two_sources_at_once_runs_the_model_once() -> None:
    """A turn's memory search and knowledgebase embed the same message concurrently."""
    embedder = OnnxEmbedder()
    runs = _model_runs(embedder)
    try:
        message = "what was that recipe you gave me in May?"
        first, second = await asyncio.gather(embedder.embed([message]), embedder.embed([message]))
        again = await embedder.embed([message])
        assert first == second == again
        assert runs == [[message]]
        [with_another, _] = await embedder.embed([message, "and my sister's name?"])
        assert _cos(with_another, first[0]) > 0.9999  # shared or not, the same vector
        lone = asyncio.create_task(embedder.embed(["a question nobody waits for any more"]))
        await asyncio.sleep(0)
        lone.cancel()  # its gather source was late: the run is cancelled, not left behind
        with pytest.raises(asyncio.CancelledError):
            await lone
        assert len((await embedder.embed(["a question nobody waits for any more"]))[0]) == 384
    finally:
        await embedder.close()


async def test_a_line_stored_lately_is_not_run_again_as_the_next_messages_context() -> None:
    """Storing a reply embeds it; the person's answer to it is then stored beside that reply's
    vector (memory.longterm.hybrid), which must be the one the model gives, not run again."""
    embedder = OnnxEmbedder()
    runs = _model_runs(embedder)
    reply = "Try the lemon risotto. Toast the rice first, then add the stock slowly."
    answer = "Made it last night, the kids loved it!"
    try:
        [stored], _ = await embedder.embed_parts([reply], [[(0, 23)]])
        context, _ = await embedder.embed([reply, answer])
        assert runs == [[answer]]
        assert context == stored
        fresh = OnnxEmbedder()
        try:
            assert _cos(context, (await fresh.embed([reply, "something else"]))[0]) > 0.9999
        finally:
            await fresh.close()
    finally:
        await embedder.close()


async def test_a_missing_model_dir_says_which_file(tmp_path: Path) -> None:
    embedder = OnnxEmbedder(model_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"model\.onnx"):
        await embedder.embed(["hello"])
    await embedder.close()


async def test_provider_embeddings_over_the_openai_wire_format(llm_server: LLMServer) -> None:
    embedder = OpenAIEmbedder(
        model="text-embedding-3-small", base_url=llm_server.openai_base_url, api_key="k"
    )
    try:
        await embedder.start()
        assert embedder.dim == llm_server.embedding_dim
        a, b, a_again = await embedder.embed(["alpha", "beta", "alpha"])
        assert a == a_again
        assert a != b
        assert math.isclose(sum(x * x for x in a), 1.0, rel_tol=1e-6)
        assert embedder.model_id == "openai:text-embedding-3-small"
    finally:
        await embedder.close()


async def test_the_shipped_model_is_prepared_once_into_the_cache(tmp_path: Path) -> None:
    first = OnnxEmbedder(cache_dir=tmp_path)
    try:
        (before,) = await first.embed(["The cat sits on the mat"])
    finally:
        await first.close()
    prepared = await asyncio.to_thread(_models_in, tmp_path)
    assert len(prepared) == 1
    again = OnnxEmbedder(cache_dir=tmp_path)
    try:
        (after,) = await again.embed(["The cat sits on the mat"])
    finally:
        await again.close()
    assert await asyncio.to_thread(_models_in, tmp_path) == prepared  # re-used, not rebuilt
    assert after == before
