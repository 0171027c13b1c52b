"""Sentence embeddings: a local ONNX model by default, a provider API optionally."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


class EmbeddingMismatchError(RuntimeError):
    """A collection was built by a different embedding model or dimension."""


class Embedder(Protocol):
    model_id: str  # recorded on every collection built with it; dimensions are never mixed
    dim: int

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """L2-normalised vectors, computed off the event loop, batched."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class PartEmbedder(Protocol):
    """An embedder that also pools parts of each text from the same model run ("late chunking"):
    a sentence's vector then costs nothing more than its text's and still knows its neighbours."""

    async def embed_parts(
        self, texts: Sequence[str], parts: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[list[list[float]], list[list[list[float]]]]:
        """Per text its vector (as `embed` gives it) and one vector per (start, end) character
        span of it; a span the model's input limit cut off gets none."""
        ...
