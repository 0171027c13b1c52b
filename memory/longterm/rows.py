"""The item table: the source of truth for long-term memories (vectors and BM25 are indexes of it)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from memory.records import MemoryItem

SCHEMA = """
CREATE TABLE IF NOT EXISTS ltm_items (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    scope TEXT NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    ts REAL NOT NULL,
    created_at TEXT NOT NULL,
    source_ids TEXT NOT NULL,
    platform TEXT NOT NULL,
    room_id TEXT NOT NULL,
    thread_id TEXT,
    persona TEXT NOT NULL,
    vec BLOB NOT NULL,
    kind TEXT NOT NULL DEFAULT 'turn',
    context TEXT NOT NULL DEFAULT '',
    svec BLOB
);
CREATE TABLE IF NOT EXISTS ltm_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS ltm_items_owner ON ltm_items(owner, ts);
CREATE INDEX IF NOT EXISTS ltm_items_scope ON ltm_items(scope, ts);
"""
# Columns a table made by an earlier version lacks: its rows are all turns, their context unknown,
# and without sentence vectors (memory.longterm.sentences: such an item counts with its own).
ADDED_COLUMNS = {
    "kind": "ALTER TABLE ltm_items ADD COLUMN kind TEXT NOT NULL DEFAULT 'turn'",
    "context": "ALTER TABLE ltm_items ADD COLUMN context TEXT NOT NULL DEFAULT ''",
    "svec": "ALTER TABLE ltm_items ADD COLUMN svec BLOB",
}
COLUMNS = (
    "id, owner, scope, role, text, ts, created_at, source_ids, platform, room_id, thread_id, persona, kind,"
    " context"
)
WRITE_COLUMNS = COLUMNS + ", vec, svec"
# An add that finds the row (a retried add) replaces it: SQLite and Postgres both take this form.
UPSERT_SET = ", ".join(f"{c.strip()} = excluded.{c.strip()}" for c in WRITE_COLUMNS.split(",")[1:])


def epoch(dt: datetime) -> float:
    """Seconds since the epoch; naive datetimes are taken as UTC so both kinds compare."""
    return (dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)).timestamp()


def pack_vector(vector: Sequence[float]) -> bytes:
    """float16 halves the copy; cosine ranking inside one interval does not need more precision."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def unpack_vectors(blobs: Sequence[bytes], dim: int) -> npt.NDArray[np.float32]:
    if not blobs:
        return np.empty((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), dim).astype(np.float32)


def to_row(
    item: MemoryItem, vector: Sequence[float], sentence_vectors: bytes | None = None
) -> tuple[Any, ...]:
    return (
        item.id,
        item.owner,
        item.scope,
        item.role,
        item.text,
        epoch(item.created_at),
        item.created_at.isoformat(),
        json.dumps(list(item.source_ids)),
        item.platform,
        item.room_id,
        item.thread_id,
        item.persona,
        item.kind,
        item.context,
        pack_vector(vector),
        sentence_vectors,
    )


def from_row(row: Mapping[str, Any] | Sequence[Any]) -> MemoryItem:
    r: Any = row
    return MemoryItem(
        id=r["id"],
        owner=r["owner"],
        scope=r["scope"],
        role=r["role"],
        text=r["text"],
        created_at=datetime.fromisoformat(r["created_at"]),
        source_ids=tuple(json.loads(r["source_ids"])),
        platform=r["platform"],
        room_id=r["room_id"],
        thread_id=r["thread_id"],
        persona=r["persona"],
        kind=r["kind"],
        context=r["context"],
    )
