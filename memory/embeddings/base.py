"""Sentence embeddings: a local ONNX model by default, a provider API optionally."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class EmbeddingMismatchError(RuntimeError):
    """A collection was built by a different embedding model or dimension."""


class Embedder(Protocol):
    model_id: str  # recorded on every collection built with it; dimensions are never mixed
    dim: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """L2-normalised vectors, computed off the event loop, batched."""
        ...

    async def close(self) -> None: ...
