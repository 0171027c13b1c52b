"""Vector index interface over Chroma (embedded PersistentClient or a `chroma run` server).

The index holds ids, vectors and the metadata its filters need, never the texts: those live in
the relational store, which is what search reads them from, so a forgotten text has one copy to
delete. Chroma's documents also cost a third of each write (1.2 against 0.8 ms per item on 2
cores, LoCoMo lines, batches of 20: it indexes them for its own full-text search).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Metadata = Mapping[str, str | int | float | bool]


@dataclass(frozen=True, slots=True, kw_only=True)
class VectorHit:
    id: str
    distance: float
    metadata: dict[str, Any] = field(default_factory=dict)  # with `details` only


class VectorIndex(Protocol):
    """Collections are created on first use and record the embedder's model id and dimension."""

    async def upsert(
        self,
        collection: str,
        *,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        metadatas: Sequence[Metadata],
    ) -> None: ...

    async def query(
        self,
        collection: str,
        *,
        embedding: Sequence[float],
        k: int,
        where: Mapping[str, Any] | None = None,
        details: bool = False,
    ) -> list[VectorHit]:
        """The k nearest, nearest first: ids and distances, and with `details` each hit's metadata
        too. That is read per hit from Chroma's own tables (at k = 200 over 100k items, 11 of a
        query's 15 ms), so callers that keep their rows elsewhere leave it out."""
        ...

    async def delete(
        self, collection: str, *, ids: Sequence[str] | None = None, where: Mapping[str, Any] | None = None
    ) -> None: ...

    async def drop(self, collection: str) -> None:
        """Remove a whole collection (a missing one is fine)."""
        ...

    async def names(self, prefix: str = "") -> list[str]:
        """Every collection whose name starts with `prefix`."""
        ...

    async def ids(self, collection: str) -> list[str]:
        """Every id in a collection ([] when it does not exist)."""
        ...

    async def close(self) -> None: ...
