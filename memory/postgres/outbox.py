"""PostgresOutbox: a turn's history rows and its post-turn work, committed in one transaction.

The tables and rules of memory.sqlite.outbox (outbox, dead_letters, tombstones), on the shared
pool: with history in Postgres too, the turn's rows and its jobs share one transaction; with
history elsewhere (Redis) it is appended there first and the jobs recorded after.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from memory.base import DeadLetter, HistoryStore, OutboxJob, Tombstone
from memory.postgres.history import PostgresHistoryStore, append_in
from memory.postgres.pool import Connection, PostgresDatabase
from memory.records import Turn
from memory.sqlite.outbox import TOMBSTONE_MIN_AGE_S, owners_json, row_to_job, row_to_tombstone

_log = logging.getLogger(__name__)

_JOB_COLUMNS = "key, kind, payload, owners, origin_ts, attempts, due_ts"
_RECORD = (  # only a job recorded before is skipped (same key); any other error aborts it all
    f"INSERT INTO outbox ({_JOB_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING"
)
_DEAD_LETTER = """
INSERT INTO dead_letters (key, kind, payload, owners, error, attempts, failed_ts)
SELECT key, kind, payload, owners, ?, attempts + 1, ? FROM outbox WHERE key = ?
ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, payload = excluded.payload, owners = excluded.owners,
    error = excluded.error, attempts = excluded.attempts, failed_ts = excluded.failed_ts
"""


class PostgresOutbox:
    """`Outbox` on the shared pool; `history` is where turns go (this database's, or Redis)."""

    def __init__(self, db: PostgresDatabase, *, history: HistoryStore) -> None:
        self._db = db
        self._history = history
        self._history_here = isinstance(history, PostgresHistoryStore) and history.db is db

    async def start(self) -> None:
        """The schema is migrated when the pool opens."""

    async def close(self) -> None:
        """Nothing to release: the pool belongs to the composition root."""

    async def commit(self, turns: Sequence[Turn], jobs: Sequence[OutboxJob]) -> None:
        if turns and not self._history_here:
            await self._history.append(turns)  # raises when that store is down: nothing recorded
        async with self._db.transaction() as conn:
            if turns and self._history_here:
                await append_in(conn, turns)
            await conn.executemany(
                _RECORD,
                [
                    (j.key, j.kind, j.payload, owners_json(j.owners), j.origin_ts, j.attempts, j.due_ts)
                    for j in jobs
                ],
            )

    async def pending(self) -> list[OutboxJob]:
        return [
            row_to_job(r) for r in await self._db.fetchall(f"SELECT {_JOB_COLUMNS} FROM outbox ORDER BY seq")
        ]

    async def done(self, key: str) -> None:
        await self._db.execute("DELETE FROM outbox WHERE key = ?", (key,))

    async def postpone(self, key: str, *, due_ts: float, error: str) -> int:
        row = await self._db.fetchone(
            "UPDATE outbox SET attempts = attempts + 1, due_ts = ?, last_error = ? WHERE key = ?"
            " RETURNING attempts",
            (due_ts, error[:2000], key),
        )
        return int(row["attempts"]) if row else 0

    async def dead_letter(self, key: str, error: str) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(_DEAD_LETTER, (error[:2000], time.time(), key))
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
            dropped = await _drop_owned(conn, owners) if phrase is None else 0
            await _prune(conn, at)
        return dropped

    async def forgotten(self, owners: frozenset[str], since: float) -> list[Tombstone]:
        if not owners:
            return []
        rows = await self._db.fetchall(
            "SELECT owner, phrase, at, applied FROM tombstones WHERE owner = ANY(?) AND at >= ? ORDER BY at",
            (sorted(owners), since),
        )
        return [row_to_tombstone(r) for r in rows]

    async def mark_applied(self, owners: frozenset[str], at: float) -> None:
        if owners:
            await self._db.execute(
                "UPDATE tombstones SET applied = TRUE WHERE at = ? AND owner = ANY(?)", (at, sorted(owners))
            )

    async def unapplied(self) -> list[Tombstone]:
        rows = await self._db.fetchall("SELECT owner, phrase, at, applied FROM tombstones WHERE NOT applied")
        return [row_to_tombstone(r) for r in rows]


async def _drop_owned(conn: Connection, owners: frozenset[str]) -> int:
    """Jobs and dead letters holding only these owners' words: nothing of them may be kept."""
    dropped = 0
    for table in ("outbox", "dead_letters"):
        rows = await conn.fetchall(f"SELECT key, owners FROM {table} FOR UPDATE")
        doomed = [r["key"] for r in rows if frozenset(json.loads(r["owners"])) <= owners]
        if doomed:
            await conn.execute(f"DELETE FROM {table} WHERE key = ANY(?)", (doomed,))
        dropped += len(doomed) if table == "outbox" else 0
    return dropped


async def _prune(conn: Connection, now: float) -> None:
    row = await conn.fetchone("SELECT MIN(origin_ts) AS oldest FROM outbox")
    oldest_job = float(row["oldest"]) if row and row["oldest"] is not None else now
    await conn.execute(
        "DELETE FROM tombstones WHERE applied AND at < ?", (min(oldest_job, now - TOMBSTONE_MIN_AGE_S),)
    )
