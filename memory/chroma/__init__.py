"""Vector index over Chroma: embedded PersistentClient or a `chroma run` server."""

from memory.chroma.index import ChromaIndex, EmbeddingMismatchError

__all__ = ["ChromaIndex", "EmbeddingMismatchError"]
