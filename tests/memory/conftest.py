from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from memory.embeddings.onnx import OnnxEmbedder


@pytest.fixture(scope="module")
def embedder() -> Iterator[OnnxEmbedder]:
    """The shipped model, loaded once per module: loading it is the slow part of these tests."""
    model = OnnxEmbedder()
    asyncio.run(model.start())
    yield model
    asyncio.run(model.close())
