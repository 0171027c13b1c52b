"""Vector index over Chroma: embedded PersistentClient or a `chroma run` server."""

from memory.chroma.index import ChromaIndex
from memory.embeddings.base import EmbeddingMismatchError

__all__ = ["ChromaIndex", "EmbeddingMismatchError"]
