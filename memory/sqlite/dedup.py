"""Inbound event claims in SQLite: in progress under a lease, then answered for a long TTL.

Claims live in the data directory's database, so a redelivered event is still refused after a
restart, and an event whose holder died mid-turn (its lease ran out) is handed out once more.
Every state change is one conditional statement, so the race between two claimers is decided
by SQLite itself, whether they are coroutines (serialised by the Database's write lock) or
processes. A row's `owner` is the holder's id while in progress and NULL once answered.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence

import aiosqlite

from memory.base import Claim
from memory.sqlite.db import Database

_log = logging.getLogger(__name__)

Clock = Callable[[], float]
SCHEMA_NAME = "dedup"
DDL = """
CREATE TABLE IF NOT EXISTS dedup (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL,
    owner TEXT
);
CREATE INDEX IF NOT EXISTS dedup_expiry ON dedup (expires_at);
"""
_RENEW_CHUNK = 500  # keys per statement, well under SQLite's bound-parameter limit


class SqliteEventDedup:
    """`EventDedup` on the shared `Database`; each object is one holder with its own owner id.
    Expired rows are purged lazily, at most once per `purge_interval_s`, inside a claim."""

    def __init__(self, db: Database, *, clock: Clock = time.time, purge_interval_s: float = 300.0) -> None:
        self._db = db
        self._clock = clock
        self._purge_interval_s = purge_interval_s
        self._next_purge = 0.0
        self._owner = f"{os.getpid()}:{os.urandom(8).hex()}"

    async def start(self) -> None:
        await self._db.ensure_schema(SCHEMA_NAME, DDL)
        columns = {row[1] for row in await self._db.fetchall("PRAGMA table_info(dedup)")}
        if "owner" not in columns:  # a database from before leases: its claims count as answered
            await self._db.execute("ALTER TABLE dedup ADD COLUMN owner TEXT")

    async def close(self) -> None:
        """Nothing to release: the Database belongs to the composition root."""

    async def claim(self, key: str, lease_s: float) -> Claim:
        now = self._clock()
        async with self._db.transaction() as conn:
            if now >= self._next_purge:
                self._next_purge = now + self._purge_interval_s
                async with conn.execute("DELETE FROM dedup WHERE expires_at <= ?", (now,)) as cur:
                    if cur.rowcount:
                        _log.debug("purged %s expired dedup keys", cur.rowcount)
            async with conn.execute("SELECT owner, expires_at FROM dedup WHERE key = ?", (key,)) as cur:
                row = await cur.fetchone()
            if row is None:
                return await self._insert(conn, key, now + lease_s)
            if float(row[1]) > now:
                return self._live(row[0])
            return await self._take_over(conn, key, now, lease_s, resumed=row[0] is not None)

    async def _insert(self, conn: aiosqlite.Connection, key: str, expires_at: float) -> Claim:
        sql = "INSERT INTO dedup (key, expires_at, owner) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
        async with conn.execute(sql, (key, expires_at, self._owner)) as cur:
            return Claim.NEW if cur.rowcount == 1 else Claim.ELSEWHERE

    async def _take_over(
        self, conn: aiosqlite.Connection, key: str, now: float, lease_s: float, *, resumed: bool
    ) -> Claim:
        """An expired claim: ours now, unless another claimer took it between our read and write."""
        sql = "UPDATE dedup SET expires_at = ?, owner = ? WHERE key = ? AND expires_at <= ?"
        async with conn.execute(sql, (now + lease_s, self._owner, key, now)) as cur:
            if cur.rowcount != 1:
                return Claim.ELSEWHERE
        return Claim.RESUMED if resumed else Claim.NEW

    def _live(self, owner: str | None) -> Claim:
        if owner is None:
            return Claim.DONE
        return Claim.HERE if owner == self._owner else Claim.ELSEWHERE

    async def renew(self, keys: Sequence[str], lease_s: float) -> int:
        expires_at = self._clock() + lease_s
        renewed = 0
        async with self._db.transaction() as conn:
            for start in range(0, len(keys), _RENEW_CHUNK):
                chunk = list(keys[start : start + _RENEW_CHUNK])
                marks = ",".join("?" * len(chunk))
                sql = f"UPDATE dedup SET expires_at = ? WHERE owner = ? AND key IN ({marks})"
                async with conn.execute(sql, (expires_at, self._owner, *chunk)) as cur:
                    renewed += cur.rowcount
        return renewed

    async def complete(self, key: str, ttl_s: float) -> None:
        sql = """
        INSERT INTO dedup (key, expires_at, owner) VALUES (?, ?, NULL)
        ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, owner = NULL
        """
        await self._db.execute(sql, (key, self._clock() + ttl_s))

    async def release(self, key: str) -> None:
        await self._db.execute("DELETE FROM dedup WHERE key = ? AND owner = ?", (key, self._owner))
