"""SqliteOutbox: a turn's history rows and its post-turn work, committed in one transaction.

Three tables on the shared Database (the primary store, even when history lives in Redis):
    outbox        one row per job still to do; deleted when done, never when a stop cuts it short
    dead_letters  jobs that kept failing, with their last error (`familiar doctor` lists them)
    tombstones    one row per owner per forget, so work on older words cannot bring them back;
                  pruned once no job that old is left and no turn can still be in flight

History in this database is written in the same transaction as the jobs. History in another
store (Redis) is appended there first and the jobs recorded after: a crash between the two
leaves the turn in history without its learning, never learning about a turn history lacks.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from memory.base import DeadLetter, HistoryStore, OutboxJob, Tombstone
from memory.records import Turn
from memory.sqlite.db import Database
from memory.sqlite.history import SqliteHistoryStore, append_in

_log = logging.getLogger(__name__)

_SCHEMA_NAME = "outbox.v1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    owners TEXT NOT NULL,
    origin_ts REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_ts REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    owners TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    failed_ts REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tombstones (
    owner TEXT NOT NULL,
    phrase TEXT,
    at REAL NOT NULL,
    applied INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tombstones_owner ON tombstones (owner, at);
"""
_JOB_COLUMNS = "key, kind, payload, owners, origin_ts, attempts, due_ts"
# A turn in flight (gathering, generating) commits after a forget that its own messages predate:
# tombstones are kept at least this long so that commit still sees them.
TOMBSTONE_MIN_AGE_S = 3600.0


def owners_json(owners: frozenset[str]) -> str:
    return json.dumps(sorted(owners))


def row_to_job(row: Any) -> OutboxJob:
    return OutboxJob(
        key=row["key"],
        kind=row["kind"],
        payload=row["payload"],
        owners=frozenset(json.loads(row["owners"])),
        origin_ts=float(row["origin_ts"]),
        attempts=int(row["attempts"]),
        due_ts=float(row["due_ts"]),
    )


class SqliteOutbox:
    """`Outbox` on the shared Database; `history` is where turns go (this db's, or Redis)."""

    def __init__(self, db: Database, *, history: HistoryStore) -> None:
        self._db = db
        self._history = history
        # The same transaction only when history is a table of this very database.
        self._history_here = isinstance(history, SqliteHistoryStore) and history.db is db

    async def start(self) -> None:
        await self._db.ensure_schema(_SCHEMA_NAME, _SCHEMA)

    async def close(self) -> None:
        """Nothing to release: the Database belongs to the composition root."""

    async def commit(self, turns: Sequence[Turn], jobs: Sequence[OutboxJob]) -> None:
        if turns and not self._history_here:
            await self._history.append(turns)  # raises when that store is down: nothing recorded
        async with self._db.transaction() as conn:
            if turns and self._history_here:
                await append_in(conn, turns)
            await conn.executemany(
                # Only a job recorded before is skipped (same key); any other error aborts it all.
                f"INSERT INTO outbox ({_JOB_COLUMNS}, seq)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox))"
                " ON CONFLICT (key) DO NOTHING",
                [
                    (j.key, j.kind, j.payload, owners_json(j.owners), j.origin_ts, j.attempts, j.due_ts)
                    for j in jobs
                ],
            )

    async def pending(self) -> list[OutboxJob]:
        rows = await self._db.fetchall(f"SELECT {_JOB_COLUMNS} FROM outbox ORDER BY seq")
        return [row_to_job(row) for row in rows]

    async def done(self, key: str) -> None:
        await self._db.execute("DELETE FROM outbox WHERE key = ?", (key,))

    async def postpone(self, key: str, *, due_ts: float, error: str) -> int:
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, due_ts = ?, last_error = ? WHERE key = ?",
                (due_ts, error[:2000], key),
            )
            async with conn.execute("SELECT attempts FROM outbox WHERE key = ?", (key,)) as cur:
                row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def dead_letter(self, key: str, error: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT OR REPLACE INTO dead_letters (key, kind, payload, owners, error, attempts, failed_ts)"
                " SELECT key, kind, payload, owners, ?, attempts + 1, ? FROM outbox WHERE key = ?",
                (error[:2000], time.time(), key),
            )
            await conn.execute("DELETE FROM outbox WHERE key = ?", (key,))
        _log.error("post-turn job %s moved to the dead letters: %s", key, error)

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        rows = await self._db.fetchall(
            "SELECT key, kind, owners, error, attempts, failed_ts FROM dead_letters"
            " ORDER BY failed_ts DESC LIMIT ?",
            (limit,),
        )
        return [
            DeadLetter(
                key=row["key"],
                kind=row["kind"],
                error=row["error"],
                attempts=int(row["attempts"]),
                failed_at=datetime.fromtimestamp(float(row["failed_ts"]), UTC),
                owners=frozenset(json.loads(row["owners"])),
            )
            for row in rows
        ]

    async def forget(self, owners: frozenset[str], phrase: str | None, at: float) -> int:
        if not owners:
            return 0
        async with self._db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO tombstones (owner, phrase, at) VALUES (?, ?, ?)",
                [(owner, phrase, at) for owner in sorted(owners)],
            )
            dropped = await self._drop_owned(conn, owners) if phrase is None else 0
            await self._prune(conn, at)
        return dropped

    async def _drop_owned(self, conn: aiosqlite.Connection, owners: frozenset[str]) -> int:
        """Jobs and dead letters holding only these owners' words: nothing of them may be kept."""
        dropped = 0
        for table in ("outbox", "dead_letters"):
            async with conn.execute(f"SELECT key, owners FROM {table}") as cur:
                rows = list(await cur.fetchall())
            doomed = [(r["key"],) for r in rows if frozenset(json.loads(r["owners"])) <= owners]
            await conn.executemany(f"DELETE FROM {table} WHERE key = ?", doomed)
            dropped += len(doomed) if table == "outbox" else 0
        return dropped

    async def _prune(self, conn: aiosqlite.Connection, now: float) -> None:
        async with conn.execute("SELECT MIN(origin_ts) FROM outbox") as cur:
            row = await cur.fetchone()
        oldest_job = float(row[0]) if row and row[0] is not None else now
        await conn.execute(
            "DELETE FROM tombstones WHERE applied = 1 AND at < ?",
            (min(oldest_job, now - TOMBSTONE_MIN_AGE_S),),
        )

    async def forgotten(self, owners: frozenset[str], since: float) -> list[Tombstone]:
        if not owners:
            return []
        ordered = sorted(owners)
        rows = await self._db.fetchall(
            f"SELECT owner, phrase, at, applied FROM tombstones WHERE owner IN ({_marks(len(ordered))})"
            " AND at >= ? ORDER BY at",
            [*ordered, since],
        )
        return [row_to_tombstone(r) for r in rows]

    async def mark_applied(self, owners: frozenset[str], at: float) -> None:
        if owners:
            ordered = sorted(owners)
            await self._db.execute(
                f"UPDATE tombstones SET applied = 1 WHERE at = ? AND owner IN ({_marks(len(ordered))})",
                [at, *ordered],
            )

    async def unapplied(self) -> list[Tombstone]:
        rows = await self._db.fetchall("SELECT owner, phrase, at, applied FROM tombstones WHERE applied = 0")
        return [row_to_tombstone(r) for r in rows]


def _marks(count: int) -> str:
    return ",".join("?" * count)


def row_to_tombstone(row: Any) -> Tombstone:
    return Tombstone(
        owner=row["owner"], phrase=row["phrase"], at=float(row["at"]), applied=bool(row["applied"])
    )
