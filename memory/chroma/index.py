"""`VectorIndex` over Chroma, embedded (PersistentClient) or client/server (AsyncHttpClient).

Embeddings are always passed in: Chroma's default embedding function would download a model.
Every collection records the embedder's model id and dimension in its metadata, and this index
refuses to write or query a collection built by another model or with another dimension, since
mixed vectors give meaningless distances without any error.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import chromadb
from chromadb.config import Settings
from chromadb.errors import NotFoundError

from memory.embeddings.base import EmbeddingMismatchError
from memory.vectors import Metadata, VectorHit

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
_MISSING_TTL_S = 5.0
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


class ChromaIndex:
    """Give `path` for the embedded store, or `host`/`port` for a Chroma server."""

    def __init__(
        self,
        *,
        model_id: str,
        dim: int,
        path: Path | None = None,
        host: str | None = None,
        port: int = 8000,
    ) -> None:
        if (path is None) == (host is None):
            raise ValueError("give exactly one of path (embedded) or host (server)")
        self.model_id = model_id
        self.dim = dim
        self._path = path
        self._host = host
        self._port = port
        self._client: Any = None
        self._collections: dict[str, Any] = {}
        # Reads of a collection nobody has written yet are common (a new user, a room never
        # shared in); remembering the miss briefly saves a round trip per search.
        self._missing: dict[str, float] = {}
        self._lock = asyncio.Lock()

    @property
    def embedded(self) -> bool:
        return self._path is not None

    async def start(self) -> None:
        if self._client is not None:
            return
        settings = Settings(anonymized_telemetry=False)
        if self._path is not None:
            self._client = await self._call(
                chromadb.PersistentClient, path=str(self._path), settings=settings
            )
        else:
            self._client = await chromadb.AsyncHttpClient(
                host=str(self._host), port=self._port, settings=settings
            )
        _log.info("chroma index ready (%s)", self._path or f"{self._host}:{self._port}")

    async def _call(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """The one seam for Chroma calls: a thread for the embedded client, awaited for the server."""
        if self.embedded:
            return await asyncio.to_thread(fn, *args, **kwargs)
        return await fn(*args, **kwargs)  # type: ignore[misc,no-any-return]

    async def _collection(self, name: str, *, create: bool) -> Any:
        cached = self._collections.get(name)
        if cached is not None:
            return cached
        if not create and time.monotonic() < self._missing.get(name, 0.0):
            return None
        if self._client is None:
            await self.start()
        if not _NAME.match(name):
            raise ValueError(f"invalid collection name {name!r}: 3-512 characters of [a-zA-Z0-9._-]")
        async with self._lock:
            if name in self._collections:
                return self._collections[name]
            if create:
                collection = await self._call(
                    self._client.get_or_create_collection,
                    name,
                    metadata={"embedder": self.model_id, "dim": self.dim},
                    configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
            else:
                try:
                    collection = await self._call(self._client.get_collection, name, embedding_function=None)
                except NotFoundError:
                    self._missing[name] = time.monotonic() + _MISSING_TTL_S
                    return None
            self._check_model(name, collection.metadata or {})
            self._collections[name] = collection
            self._missing.pop(name, None)
            return collection

    def _check_model(self, name: str, metadata: Mapping[str, Any]) -> None:
        model, dim = metadata.get("embedder"), metadata.get("dim")
        if model != self.model_id or dim != self.dim:
            raise EmbeddingMismatchError(
                f"collection {name!r} was built with embedder {model!r} (dim {dim}), but this index uses "
                f"{self.model_id!r} (dim {self.dim}); re-embed into a new data directory or switch back"
            )

    def _check_dims(self, embeddings: Sequence[Sequence[float]]) -> None:
        for vector in embeddings:
            if len(vector) != self.dim:
                raise EmbeddingMismatchError(
                    f"embedding has {len(vector)} dimensions; index {self.model_id!r} expects {self.dim}"
                )

    async def upsert(
        self,
        collection: str,
        *,
        ids: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        metadatas: Sequence[Metadata],
    ) -> None:
        if not ids:
            return
        self._check_dims(embeddings)
        target = await self._collection(collection, create=True)
        await self._call(
            target.upsert,
            ids=list(ids),
            embeddings=[list(e) for e in embeddings],
            metadatas=[dict(m) for m in metadatas],
        )

    async def query(
        self,
        collection: str,
        *,
        embedding: Sequence[float],
        k: int,
        where: Mapping[str, Any] | None = None,
        details: bool = False,
    ) -> list[VectorHit]:
        self._check_dims([embedding])
        target = await self._collection(collection, create=False)
        if target is None or k <= 0:
            return []
        result = await self._call(
            target.query,
            query_embeddings=[list(embedding)],
            n_results=k,
            where=dict(where) if where else None,
            include=["metadatas", "distances"] if details else ["distances"],
        )
        ids = result["ids"][0]
        metas = (result.get("metadatas") or [[]])[0] or [{}] * len(ids)
        dists = (result.get("distances") or [[]])[0] or [0.0] * len(ids)
        return [
            VectorHit(id=i, distance=float(d), metadata=dict(m or {}))
            for i, m, d in zip(ids, metas, dists, strict=True)
        ]

    async def delete(
        self, collection: str, *, ids: Sequence[str] | None = None, where: Mapping[str, Any] | None = None
    ) -> None:
        target = await self._collection(collection, create=False)
        if target is None or (ids is not None and not ids):
            return
        if ids is None and where is None:
            raise ValueError("delete needs ids or where (use drop() to remove a whole collection)")
        await self._call(target.delete, ids=list(ids) if ids is not None else None, where=where)

    async def drop(self, collection: str) -> None:
        """Remove a whole collection (used by forget-all on a per-owner partition)."""
        if self._client is None:
            await self.start()
        self._collections.pop(collection, None)
        self._missing.pop(collection, None)
        try:
            await self._call(self._client.delete_collection, collection)
        except NotFoundError:
            return

    async def names(self, prefix: str = "") -> list[str]:
        if self._client is None:
            await self.start()
        listed = await self._call(self._client.list_collections)
        return sorted(c.name for c in listed if c.name.startswith(prefix))

    async def ids(self, collection: str) -> list[str]:
        target = await self._collection(collection, create=False)
        if target is None:
            return []
        got = await self._call(target.get, include=[])
        return [str(i) for i in got["ids"]]

    async def count(self, collection: str) -> int:
        target = await self._collection(collection, create=False)
        return 0 if target is None else int(await self._call(target.count))

    async def close(self) -> None:
        self._collections.clear()
        # Chroma's clients own no handle we may close: the embedded system is shared per path
        # inside the process (other stores may use it), so only the reference is dropped.
        self._client = None
