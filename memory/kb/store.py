"""SqliteKnowledgeBase: lorebook-style entries on SQLite + FTS5, with optional dense vectors.

Three kinds of entries: `constant` (always offered), `triggered` (offered when one of its keys
appears in the recent messages) and `retrieved` (offered when similar to the query). Retrieval is
hybrid: FTS5/BM25 and dense vectors, fused by reciprocal rank, each with a relevance floor. With
no vector index or embedder, retrieval is FTS5 only.

Only retrieved entries are embedded; vectors live in one collection per scope (filtering a big
shared collection is much slower than querying a small one). Writes go vectors first, then SQL,
then stale-vector deletes: a failure leaves at worst orphan vectors, which are ignored because
every dense hit is joined back to its SQL row.

If either the vector index or the embedder is None, retrieval is FTS5 only; `reindex_vectors()`
(run by `familiar memory reindex`) embeds existing entries when vectors are configured later or
the model changes.
On Postgres (a PostgresDatabase, with DATABASE_URL) the same class runs the same portable SQL;
entry writes and full-text retrieval go through memory.postgres.kb instead of FTS5.

The Database, VectorIndex and Embedder are owned (opened and closed) by the composition root.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import aiosqlite

from memory.embeddings.base import Embedder
from memory.kb.rows import (
    ENTRY_COLUMNS,
    MANUAL_SOURCES,
    SCHEMA,
    SCHEMA_NAME,
    entry_to_row,
    normalise,
    row_to_entry,
    scope_specificity,
)
from memory.kb.selection import TokenCounter, dedupe, estimate_tokens, fuse_rankings, pack_within_budget
from memory.kb.triggers import InvalidKey, Patterns, compile_keys, fires
from memory.postgres.kb import search_ids, write_entries
from memory.postgres.pool import PostgresDatabase
from memory.records import KBEntry
from memory.sqlite.db import Database
from memory.vectors import VectorIndex

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
MAX_TRIGGER_TEXT = 8000  # characters of recent text scanned for trigger keys

_WORD = re.compile(r"\w+")
# fmt: off
_STOPWORDS = frozenset({
    "a", "about", "an", "and", "are", "as", "at", "be", "but", "by", "can", "could", "do", "does",
    "for", "from", "had", "has", "have", "he", "her", "him", "his", "how", "i", "if", "in", "is", "it",
    "its", "me", "my", "no", "not", "of", "on", "or", "our", "she", "so", "that", "the", "their",
    "them", "then", "there", "these", "they", "this", "to", "up", "us", "was", "we", "were", "what",
    "when", "where", "which", "who", "why", "will", "with", "would", "you", "your", "hi", "hello",
    "hey", "please", "thanks", "thank", "tell", "know",
})
# fmt: on


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrievalSettings:
    candidates: int = 8  # per ranker, before fusion
    max_retrieved: int = 6  # retrieved entries offered per turn (before the token budget)
    # Dense floor (cosine). Measured with MiniLM on lore-like entries: related questions score
    # 0.4-0.65, unrelated chat 0.0-0.21; 0.30 keeps a margin on both sides.
    min_similarity: float = 0.30
    # Chroma reports cosine distance (1 - cosine) for "cosine" spaces; an index on another space
    # can pass its own conversion.
    distance_to_similarity: Callable[[float], float] = lambda distance: 1.0 - distance


@dataclass(frozen=True, slots=True)
class _Live:
    """A constant or triggered entry held in memory, with its keys compiled."""

    entry: KBEntry
    patterns: Patterns


@dataclass(frozen=True, slots=True, kw_only=True)
class _Plan:
    insert: list[KBEntry]
    delete_ids: list[str]


class SqliteKnowledgeBase:
    def __init__(
        self,
        db: Database | PostgresDatabase,
        *,
        vectors: VectorIndex | None = None,
        embedder: Embedder | None = None,
        count_tokens: TokenCounter = estimate_tokens,
        retrieval: RetrievalSettings | None = None,
        collection_prefix: str = "kb",
    ) -> None:
        self._db = db
        self._vectors = vectors if embedder is not None else None
        self._embedder = embedder if vectors is not None else None
        self._count_tokens = count_tokens
        self._settings = retrieval or RetrievalSettings()
        self._prefix = collection_prefix
        self._write_lock = asyncio.Lock()
        self._live: dict[str, list[_Live]] = {}
        self._retrievable: set[str] = set()  # loaded scopes holding retrieved entries (same cache)
        self._generation = -1
        self._started = False
        self._closed = False

    async def start(self) -> None:
        if isinstance(self._db, Database):  # Postgres: the tables come from its migrations
            await self._db.ensure_schema(SCHEMA_NAME, SCHEMA)
        self._started = True

    async def close(self) -> None:
        # The database, index and embedder belong to the composition root; only our caches go.
        self._closed = True
        self._live.clear()
        self._retrievable.clear()

    # -- writes -------------------------------------------------------------------------------

    async def add(self, entries: Sequence[KBEntry]) -> int:
        """Store entries; returns how many were inserted or retired (0 when nothing changed).

        Entries from a file source replace that (scope, source)'s previous chunks as a set:
        unchanged chunks stay, changed ones are swapped, vanished ones retired. Manual entries
        (source "" or "manual") are idempotent by id, whose default derives from the content.
        Raises ValueError (InvalidEntry/InvalidKey) before writing anything if one entry is bad.
        """
        await self._ensure_started()
        now = datetime.now(UTC)
        normalised = dedupe(normalise(entry, now) for entry in entries)
        async with self._write_lock:
            plan = await self._plan(normalised)
            if not plan.insert and not plan.delete_ids:
                return 0
            stale = _not_reinserted(await self._scopes_of(plan.delete_ids), plan.insert)
            await self._upsert_vectors(plan.insert)
            await self._write_sql(plan)
            await self._delete_vectors(stale)
        retired = len(set(plan.delete_ids) - {entry.id for entry in plan.insert})
        _log.info("kb: %d entries added or changed, %d retired", len(plan.insert), retired)
        return len(plan.insert) + retired

    async def remove(self, entry_id: str) -> bool:
        await self._ensure_started()
        async with self._write_lock:
            stale = await self._scopes_of([entry_id])
            if not stale:
                return False
            await self._write_sql(_Plan(insert=[], delete_ids=[entry_id]))
            await self._delete_vectors(stale)
        return True

    async def reindex_vectors(self) -> int:
        """Re-embed every retrieved entry (after a model change or a failed vector write)."""
        await self._ensure_started()
        if self._vectors is None:
            return 0
        async with self._write_lock:
            entries = [entry for entry in await self.list() if entry.kind == "retrieved"]
            # Rebuilt whole: a collection records the model that made it and refuses another's.
            for scope in sorted({entry.scope for entry in entries}):
                await self._vectors.drop(self.vector_collection(scope))
            await self._upsert_vectors(entries)
        return len(entries)

    async def _plan(self, entries: list[KBEntry]) -> _Plan:
        existing = await self._existing_states([entry.id for entry in entries])
        insert = [entry for entry in entries if existing.get(entry.id) != _state(entry)]
        # A manual entry re-added under its id with new content replaces the old row.
        delete_ids = [entry.id for entry in insert if entry.id in existing]
        for scope, source in {(e.scope, e.source) for e in entries if e.source not in MANUAL_SOURCES}:
            wanted = {e.id for e in entries if e.scope == scope and e.source == source}
            rows = await self._db.fetchall(
                "SELECT id FROM kb_entries WHERE scope = ? AND source = ?", (scope, source)
            )
            delete_ids.extend(row[0] for row in rows if row[0] not in wanted)
        return _Plan(insert=insert, delete_ids=delete_ids)

    async def _existing_states(self, ids: Sequence[str]) -> dict[str, tuple[str, str, str]]:
        found: dict[str, tuple[str, str, str]] = {}
        for batch in _batches(ids, 500):
            marks = ",".join("?" * len(batch))
            sql = f"SELECT id, content_hash, scope, source FROM kb_entries WHERE id IN ({marks})"
            found.update((row[0], (row[1], row[2], row[3])) for row in await self._db.fetchall(sql, batch))
        return found

    async def _scopes_of(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """Ids grouped by scope (each scope has its own vector collection)."""
        by_scope: dict[str, list[str]] = {}
        for batch in _batches(ids, 500):
            marks = ",".join("?" * len(batch))
            sql = f"SELECT scope, id FROM kb_entries WHERE id IN ({marks})"
            for scope, entry_id in await self._db.fetchall(sql, batch):
                by_scope.setdefault(scope, []).append(entry_id)
        return by_scope

    async def _write_sql(self, plan: _Plan) -> None:
        if isinstance(self._db, PostgresDatabase):
            await write_entries(self._db, delete_ids=plan.delete_ids, insert=plan.insert)
            return
        async with self._db.transaction() as conn:
            for entry_id in plan.delete_ids:
                await _run(
                    conn,
                    "DELETE FROM kb_fts WHERE rowid = (SELECT rowid FROM kb_entries WHERE id = ?)",
                    entry_id,
                )
                await _run(conn, "DELETE FROM kb_entries WHERE id = ?", entry_id)
            for entry in plan.insert:
                await _insert_entry(conn, entry)
            await _run(conn, "UPDATE kb_meta SET value = value + 1 WHERE key = 'generation'")

    async def _upsert_vectors(self, entries: Sequence[KBEntry]) -> None:
        if self._vectors is None or self._embedder is None:
            return
        by_scope: dict[str, list[KBEntry]] = {}
        for entry in entries:
            if entry.kind == "retrieved":
                by_scope.setdefault(entry.scope, []).append(entry)
        for scope, group in by_scope.items():
            for batch in _batches(group, 64):
                embeddings = await self._embedder.embed([_embed_text(entry) for entry in batch])
                await self._vectors.upsert(
                    self.vector_collection(scope),
                    ids=[entry.id for entry in batch],
                    embeddings=embeddings,
                    metadatas=[
                        {"scope": scope, "kind": entry.kind, "source": entry.source} for entry in batch
                    ],
                )

    async def _delete_vectors(self, by_scope: dict[str, list[str]]) -> None:
        if self._vectors is None:
            return
        for scope, ids in by_scope.items():
            try:
                await self._vectors.delete(self.vector_collection(scope), ids=ids)
            except Exception:  # backend errors vary; an orphan vector is harmless (hits join SQL rows)
                _log.warning("kb: could not delete %d stale vectors in %s", len(ids), scope, exc_info=True)

    # -- reads --------------------------------------------------------------------------------

    async def get(self, entry_id: str) -> KBEntry | None:
        await self._ensure_started()
        row = await self._db.fetchone(f"SELECT {ENTRY_COLUMNS} FROM kb_entries WHERE id = ?", (entry_id,))
        return row_to_entry(row) if row is not None else None

    async def select(
        self, *, query: str, recent_text: str, scopes: Sequence[str], token_budget: int
    ) -> list[KBEntry]:
        """Constant entries (by priority), then triggered, then retrieved; whole entries within budget.

        `recent_text` is the last few messages including the current one (triggers read it);
        `query` is what retrieval searches for (usually the current message).
        """
        if token_budget <= 0 or not scopes:
            return []
        await self._ensure_started()
        live = await self._live_entries(scopes)
        # Only the tail is scanned: the recent messages matter, and it bounds regex work on the loop.
        recent = recent_text[-MAX_TRIGGER_TEXT:]
        constant = [item.entry for item in live if item.entry.kind == "constant"]
        triggered = [
            item.entry for item in live if item.entry.kind == "triggered" and fires(item.patterns, recent)
        ]
        # Scopes without documents skip retrieval (the query's embedding, a vector and an FTS
        # search each): most rooms have none, and the cache knows which do.
        searchable = [scope for scope in dict.fromkeys(scopes) if scope in self._retrievable]
        retrieved = await self.retrieve(query, searchable) if query.strip() and searchable else []
        ordered = dedupe([*_by_priority(constant), *_by_priority(triggered), *retrieved])
        return pack_within_budget(ordered, token_budget, self._count_tokens)

    async def retrieve(self, query: str, scopes: Sequence[str]) -> list[KBEntry]:
        """Retrieved-kind entries relevant to `query`, best first (hybrid when vectors are configured)."""
        await self._ensure_started()
        lexical, dense = await asyncio.gather(self._lexical(query, scopes), self._dense(query, scopes))
        fused = fuse_rankings([dense, lexical])
        entries = {entry.id: entry for entry in await self._entries(fused, scopes)}
        return [entries[entry_id] for entry_id in fused if entry_id in entries][
            : self._settings.max_retrieved
        ]

    async def _lexical(self, query: str, scopes: Sequence[str]) -> list[str]:
        # Single characters ("s" of "what's") and stopwords never make an entry relevant.
        words = _WORD.findall(query.lower())
        terms = list(dict.fromkeys(w for w in words if len(w) > 1 and w not in _STOPWORDS))
        if not terms:
            return []
        if isinstance(self._db, PostgresDatabase):
            return await search_ids(self._db, terms, scopes, self._settings.candidates)
        # Quoted terms OR-ed: any content word may match.
        match = " OR ".join('"' + term.replace('"', "") + '"' for term in terms)
        marks = ",".join("?" * len(scopes))
        sql = (
            "SELECT e.id FROM kb_fts JOIN kb_entries e ON e.rowid = kb_fts.rowid "
            f"WHERE kb_fts MATCH ? AND e.kind = 'retrieved' AND e.scope IN ({marks}) "
            "ORDER BY bm25(kb_fts, 2.0, 1.0) LIMIT ?"
        )
        rows = await self._db.fetchall(sql, (match, *scopes, self._settings.candidates))
        return [row[0] for row in rows]

    async def _dense(self, query: str, scopes: Sequence[str]) -> list[str]:
        if self._vectors is None or self._embedder is None:
            return []
        try:
            [embedding] = await self._embedder.embed([query])
            per_scope = await asyncio.gather(
                *(
                    self._vectors.query(
                        self.vector_collection(scope), embedding=embedding, k=self._settings.candidates
                    )
                    for scope in scopes
                )
            )
        except Exception:  # backend errors vary; lexical retrieval still answers
            _log.warning("kb: dense retrieval failed, using FTS only", exc_info=True)
            return []
        to_similarity = self._settings.distance_to_similarity
        hits = [
            (to_similarity(hit.distance), hit.id)
            for hits in per_scope
            for hit in hits
            if to_similarity(hit.distance) >= self._settings.min_similarity
        ]
        hits.sort(key=lambda pair: -pair[0])
        return [entry_id for _, entry_id in hits[: self._settings.candidates]]

    async def _entries(self, ids: Sequence[str], scopes: Sequence[str]) -> list[KBEntry]:
        if not ids:
            return []
        # The scope check repeats the per-scope partition on purpose: a stale vector whose entry
        # moved to another scope must not leak through its old collection.
        sql = (
            f"SELECT {ENTRY_COLUMNS} FROM kb_entries WHERE kind = 'retrieved' "
            f"AND id IN ({','.join('?' * len(ids))}) AND scope IN ({','.join('?' * len(scopes))})"
        )
        return [row_to_entry(row) for row in await self._db.fetchall(sql, (*ids, *scopes))]

    async def _live_entries(self, scopes: Sequence[str]) -> list[_Live]:
        """Constant and triggered entries of these scopes, cached until any process writes."""
        row = await self._db.fetchone("SELECT value FROM kb_meta WHERE key = 'generation'")
        generation = int(row[0]) if row is not None else 0
        if generation != self._generation:
            self._live.clear()
            self._retrievable.clear()
            self._generation = generation
        missing = [scope for scope in dict.fromkeys(scopes) if scope not in self._live]
        if missing:
            await self._load_live(missing)
        return [item for scope in dict.fromkeys(scopes) for item in self._live[scope]]

    async def _load_live(self, scopes: Sequence[str]) -> None:
        marks = ",".join("?" * len(scopes))
        sql = f"SELECT {ENTRY_COLUMNS} FROM kb_entries WHERE scope IN ({marks}) AND kind != 'retrieved'"
        loaded: dict[str, list[_Live]] = {scope: [] for scope in scopes}
        for row in await self._db.fetchall(sql, tuple(scopes)):
            entry = row_to_entry(row)
            try:
                loaded[entry.scope].append(_Live(entry, compile_keys(entry.keys)))
            except InvalidKey as exc:  # only reachable if the database was edited by hand
                _log.warning("kb: skipping entry %s: %s", entry.id, exc)
        self._live.update(loaded)
        sql = f"SELECT DISTINCT scope FROM kb_entries WHERE scope IN ({marks}) AND kind = 'retrieved'"
        self._retrievable.update(str(row[0]) for row in await self._db.fetchall(sql, tuple(scopes)))

    async def list(self, scopes: Sequence[str] | None = None) -> list[KBEntry]:
        await self._ensure_started()
        sql = f"SELECT {ENTRY_COLUMNS} FROM kb_entries"
        params: tuple[str, ...] = ()
        if scopes is not None:
            if not scopes:
                return []
            sql += f" WHERE scope IN ({','.join('?' * len(scopes))})"
            params = tuple(scopes)
        sql += " ORDER BY scope, kind, priority DESC, source, title, created_at"
        return [row_to_entry(row) for row in await self._db.fetchall(sql, params)]

    # -- helpers ------------------------------------------------------------------------------

    async def _ensure_started(self) -> None:
        if self._closed:
            raise RuntimeError("knowledgebase is closed")
        if not self._started:
            await self.start()

    def vector_collection(self, scope: str) -> str:
        """The vector collection holding a scope's retrieved entries (one per scope)."""
        slug = re.sub(r"[^a-zA-Z0-9._-]", "_", scope)[:80]
        digest = hashlib.sha1(scope.encode(), usedforsecurity=False).hexdigest()[:8]
        return f"{self._prefix}.{slug}.{digest}"


async def _run(conn: aiosqlite.Connection, sql: str, *params: object) -> int | None:
    """One statement; returns the last inserted rowid."""
    async with conn.execute(sql, params) as cursor:
        return cursor.lastrowid


async def _insert_entry(conn: aiosqlite.Connection, entry: KBEntry) -> None:
    sql = f"INSERT INTO kb_entries ({ENTRY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    rowid = await _run(conn, sql, *entry_to_row(entry))
    await _run(
        conn, "INSERT INTO kb_fts (rowid, title, text) VALUES (?, ?, ?)", rowid, entry.title, entry.text
    )


def _not_reinserted(by_scope: dict[str, list[str]], inserted: Sequence[KBEntry]) -> dict[str, list[str]]:
    """Stale vectors to delete, minus those just overwritten by an upsert under the same id and scope."""
    overwritten = {(e.scope, e.id) for e in inserted if e.kind == "retrieved"}
    kept = {scope: [i for i in ids if (scope, i) not in overwritten] for scope, ids in by_scope.items()}
    return {scope: ids for scope, ids in kept.items() if ids}


def _state(entry: KBEntry) -> tuple[str, str, str]:
    """What makes a stored entry unchanged: its content, and where it lives and came from."""
    return (entry.content_hash, entry.scope, entry.source)


def _by_priority(entries: Iterable[KBEntry]) -> list[KBEntry]:
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(
        entries, key=lambda e: (-e.priority, -scope_specificity(e.scope), e.created_at or epoch, e.title)
    )


def _embed_text(entry: KBEntry) -> str:
    return f"{entry.title}\n{entry.text}" if entry.title else entry.text


def _batches(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
