"""Vector index interface over Chroma (embedded PersistentClient or a `chroma run` server)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Metadata = Mapping[str, str | int | float | bool]


@dataclass(frozen=True, slots=True, kw_only=True)
class VectorHit:
    id: str
    distance: float
    text: str
    metadata: dict[str, Any]


class VectorIndex(Protocol):
    """Collections are created on first use and record the embedder's model id and dimension."""

    async def upsert(
        self,
        collection: str,
        *,
        ids: Sequence[str],
        texts: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        metadatas: Sequence[Metadata],
    ) -> None: ...

    async def query(
        self, collection: str, *, embedding: Sequence[float], k: int, where: Mapping[str, Any] | None = None
    ) -> list[VectorHit]: ...

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
