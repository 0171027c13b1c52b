"""`familiar memory move`: a single-process install's data directory into the shared engines.

The step between the README's one process and its scale-out: everything the bot remembers moves
from the SQLite data directory (and its embedded Chroma) into the engines configured now:
- every relational table (facts, dossiers, journal and drafts, identity links, the outbox and its
  dead letters, tombstones, reminders, check-in and voice choices) row by row into Postgres;
- history into Redis (`REDIS_URL`) or else Postgres, with dedup and the day's usage beside it;
- long-term memories with the vectors their rows hold (no re-embedding; same model required)
  into Postgres, its lexical index and the vector index (`CHROMA_URL`'s server, or the embedded
  Chroma of the target data directory);
- knowledgebase entries (re-embedded on the way: a knowledgebase is small);
- the journal's Markdown mirror, when the data directory changes.
Every write is keyed (ON CONFLICT DO NOTHING, history by event id, memories by id), so a move
that was interrupted is run again and finishes; nothing is deleted from the source.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from redis.asyncio import Redis

from bot.config import Settings
from bot.stores import build_embedder, build_vectors, redis_client
from memory.base import HistoryStore
from memory.chroma import ChromaIndex
from memory.embeddings.base import Embedder
from memory.kb.store import SqliteKnowledgeBase
from memory.longterm.hybrid import HybridMemory
from memory.longterm.rows import COLUMNS, from_row
from memory.postgres.history import PostgresHistoryStore
from memory.postgres.outbox import PostgresOutbox
from memory.postgres.pool import PostgresDatabase
from memory.redis.history import RedisHistoryStore
from memory.redis.queue import RedisJobQueue
from memory.sqlite.db import Database
from memory.sqlite.history import SqliteHistoryStore, row_to_turn
from memory.sqlite.outbox import SqliteOutbox

_log = logging.getLogger(__name__)
_BATCH = 500
# Tables whose rows are what the bot learned, promised or owes: moved whatever else is set.
_LEARNED = (
    "facts", "dossiers", "journal", "journal_drafts", "identity_links", "outbox", "dead_letters",
    "tombstones", "reminders", "checkins", "voice_choices",
)  # fmt: skip
# Hot state that lives beside history: in Postgres only when Redis does not hold it. Rate-limit
# hits, link codes and link failures expire within minutes and are not moved.
_HOT = ("dedup", "daily_usage")


class MoveError(Exception):
    """The move cannot start: the message says what to change."""


@dataclass(slots=True)
class Moved:
    """What was copied, by part (rows already in the target count as copied)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, part: str, n: int) -> None:
        self.counts[part] = self.counts.get(part, 0) + n


Progress = Callable[[str, int], None]


def source_settings(target: Settings, source_dir: Path) -> Settings:
    """The single-process install that is moved: its data directory and nothing shared."""
    return target.model_copy(
        update={"data_dir": source_dir, "database_url": None, "redis_url": None, "chroma_url": None}
    )


def check_move(target: Settings, source_dir: Path) -> None:
    if not target.database_url:
        raise MoveError(
            "set DATABASE_URL (and REDIS_URL, CHROMA_URL) to the engines to move into:"
            " the move copies a data directory into Postgres"
        )
    if not (source_dir / "familiar.db").is_file():
        raise MoveError(f"{source_dir} holds no familiar.db: give the data directory of the install to move")


async def move(target: Settings, source_dir: Path, progress: Progress) -> Moved:
    check_move(target, source_dir)
    moved = Moved()
    async with AsyncExitStack() as stack:
        source = Database(source_dir / "familiar.db")
        await source.open()
        stack.push_async_callback(source.close)
        assert target.database_url is not None
        pg = PostgresDatabase(target.database_url)
        await pg.open()  # migrates a new database to the current schema
        stack.push_async_callback(pg.close)
        client = None
        if target.redis_url:
            client = redis_client(target.redis_url)
            stack.push_async_callback(client.aclose)
        # With Redis, pending post-turn work goes to its queue, not to the Postgres outbox table.
        tables = [t for t in _LEARNED if client is None or t != "outbox"] + ([] if client else list(_HOT))
        for table in tables:
            moved.add(table, await copy_table(source, pg, table))
            progress(table, moved.counts[table])
        history = RedisHistoryStore(client) if client else PostgresHistoryStore(pg)
        moved.add("history", await _move_history(source, history))
        progress("history", moved.counts["history"])
        if client is not None:
            moved.add("pending jobs", await _move_pending(source, client, history, pg))
            progress("pending jobs", moved.counts["pending jobs"])
        embedder = build_embedder(target.embedding, target.data_dir)
        await embedder.start()
        stack.push_async_callback(embedder.close)
        vectors = build_vectors(target, embedder)  # CHROMA_URL's server, else the target's own
        await vectors.start()
        stack.push_async_callback(vectors.close)
        moved.add("memories", await _move_memories(source, pg, embedder, vectors, stack))
        progress("memories", moved.counts["memories"])
        moved.add("knowledgebase", await _move_knowledge(source, pg, embedder, vectors, stack))
        progress("knowledgebase", moved.counts["knowledgebase"])
    moved.add("journal files", _copy_journal_files(source_dir, target.data_dir))
    return moved


# ---- relational rows ---------------------------------------------------------------------------


async def copy_table(source: Database, target: PostgresDatabase, table: str) -> int:
    """Every row of one table, in the order it was written, into the same Postgres table: the
    columns both have, less those Postgres computes (identities, generated search vectors)."""
    source_columns = [str(r[1]) for r in await source.fetchall(f"PRAGMA table_info({table})")]
    if not source_columns:  # that store was never used by this install
        return 0
    types = await _postgres_columns(target, table)
    columns = [c for c in source_columns if c in types]
    if not columns:
        return 0
    names = ", ".join(columns)
    insert = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))}) ON CONFLICT DO NOTHING"
    if not await _keyed(target, table) and await target.fetchone(f"SELECT 1 FROM {table} LIMIT 1"):
        return 0  # no key to skip a row already moved: a second run would write it twice
    count, last = 0, -1
    while rows := await source.fetchall(
        f"SELECT rowid, {names} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?", [last, _BATCH]
    ):
        await target.executemany(insert, [_converted(row[1:], columns, types) for row in rows])
        count, last = count + len(rows), int(rows[-1][0])
    return count


async def _postgres_columns(target: PostgresDatabase, table: str) -> dict[str, str]:
    """Columns a row may be written into, with their Postgres types."""
    rows = await target.fetchall(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ?"
        " AND is_generated = 'NEVER' AND is_identity = 'NO'",
        [table],
    )
    return {str(r[0]): str(r[1]) for r in rows}


async def _keyed(target: PostgresDatabase, table: str) -> bool:
    row = await target.fetchone(
        "SELECT 1 FROM information_schema.table_constraints WHERE table_schema = current_schema()"
        " AND table_name = ? AND constraint_type IN ('PRIMARY KEY', 'UNIQUE') LIMIT 1",
        [table],
    )
    return row is not None


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "double precision": float,
    "integer": int,
    "bigint": int,
    "boolean": bool,
    "bytea": bytes,
    "text": str,
}


def _converted(values: Sequence[Any], columns: Sequence[str], types: dict[str, str]) -> list[Any]:
    """SQLite's loose values as asyncpg's strict encoders take them (1 for TRUE, 3 for 3.0)."""
    return [
        None if value is None else _CONVERT.get(types[column], _same)(value)
        for value, column in zip(values, columns, strict=True)
    ]


def _same(value: Any) -> Any:
    return value


# ---- history, memories, knowledgebase, journal files ------------------------------------------------


async def _move_history(source: Database, history: HistoryStore) -> int:
    if not await _has_table(source, "history"):
        return 0
    count, last = 0, -1
    while rows := await source.fetchall(
        "SELECT * FROM history WHERE seq > ? ORDER BY seq LIMIT ?", [last, _BATCH]
    ):
        await history.append([row_to_turn(row) for row in rows])  # idempotent by event id
        count, last = count + len(rows), int(rows[-1]["seq"])
    return count


async def _move_pending(source: Database, client: Redis, history: HistoryStore, pg: PostgresDatabase) -> int:
    """Post-turn work the single process had not finished, into the shared queue (once per key)."""
    if not await _has_table(source, "outbox"):
        return 0
    jobs = await SqliteOutbox(source, history=SqliteHistoryStore(source)).pending()
    queue = RedisJobQueue(client, history=history, tombstones=PostgresOutbox(pg, history=history))
    await queue.start()
    await queue.commit([], jobs)
    return len(jobs)


async def _has_table(db: Database, name: str) -> bool:
    return bool(await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", [name]))


async def _move_memories(
    source: Database, pg: PostgresDatabase, embedder: Embedder, vectors: ChromaIndex, stack: AsyncExitStack
) -> int:
    if not await _has_table(source, "ltm_items"):
        return 0
    await _same_model(source, embedder)
    memory = HybridMemory(db=pg, vectors=vectors, embedder=embedder)
    stack.push_async_callback(memory.close)
    count, after = 0, ""
    while rows := await source.fetchall(
        f"SELECT {COLUMNS}, vec FROM ltm_items WHERE id > ? ORDER BY id LIMIT ?", [after, _BATCH]
    ):
        stored = [(from_row(row), _vector(row["vec"], embedder.dim)) for row in rows]
        await memory.restore(stored)
        count, after = count + len(rows), str(rows[-1]["id"])
    return count


async def _same_model(source: Database, embedder: Embedder) -> None:
    """Memories keep their vectors: the model that made them must be the one configured now."""
    known = await _has_table(source, "ltm_meta")
    row = await source.fetchone("SELECT value FROM ltm_meta WHERE key = 'embedder'") if known else None
    configured = f"{embedder.model_id} (dim {embedder.dim})"
    if row is not None and str(row[0]) != configured:
        raise MoveError(
            f"the memories were embedded with {row[0]} but the configured embedder is {configured}:"
            " move with the model they were made with, then run `familiar memory reindex`"
        )


def _vector(blob: bytes, dim: int) -> list[float]:
    # The row keeps the vector as float16 (rows.pack_vector): ample for cosine ranking.
    return [float(x) for x in np.frombuffer(blob, dtype=np.float16, count=dim)]


async def _move_knowledge(
    source: Database, pg: PostgresDatabase, embedder: Embedder, vectors: ChromaIndex, stack: AsyncExitStack
) -> int:
    if not await _has_table(source, "kb_entries"):
        return 0
    # Listing reads only the rows; the entries are embedded again into the target's index.
    reader = SqliteKnowledgeBase(source, vectors=vectors, embedder=embedder)
    stack.push_async_callback(reader.close)
    entries = await reader.list()
    writer = SqliteKnowledgeBase(pg, vectors=vectors, embedder=embedder)
    stack.push_async_callback(writer.close)
    for start in range(0, len(entries), _BATCH):
        await writer.add(entries[start : start + _BATCH])  # an unchanged entry is skipped
    return len(entries)


def _copy_journal_files(source_dir: Path, target_dir: Path) -> int:
    """The owner's Markdown mirror of the journal, when the data directory changes."""
    journal = source_dir / "journal"
    if not journal.is_dir() or source_dir.resolve() == target_dir.resolve():
        return 0
    shutil.copytree(journal, target_dir / "journal", dirs_exist_ok=True)
    return sum(1 for _ in (target_dir / "journal").rglob("*.md"))
