"""Inbound event de-duplication in SQLite: a key is claimed once until its TTL runs out.

Claims live in the data directory's database, so a redelivered event is still refused after a
restart. A claim is one upsert statement: SQLite executes it atomically, whether the racing
claimer is another coroutine (serialised by the Database's write lock) or another process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from memory.sqlite.db import Database

_log = logging.getLogger(__name__)

Clock = Callable[[], float]
SCHEMA_NAME = "dedup"
DDL = """
CREATE TABLE IF NOT EXISTS dedup (
    key TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS dedup_expiry ON dedup (expires_at);
"""

# Insert, or take over an expired claim; a live claim leaves the row untouched (0 changes).
_CLAIM = """
INSERT INTO dedup (key, expires_at) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
WHERE dedup.expires_at <= ?
"""


class SqliteEventDedup:
    """`EventDedup` on the shared `Database`. Expired rows are purged lazily, at most once per
    `purge_interval_s`, inside a claim's transaction (no background task needed)."""

    def __init__(self, db: Database, *, clock: Clock = time.time, purge_interval_s: float = 300.0) -> None:
        self._db = db
        self._clock = clock
        self._purge_interval_s = purge_interval_s
        self._next_purge = 0.0

    async def start(self) -> None:
        await self._db.ensure_schema(SCHEMA_NAME, DDL)

    async def close(self) -> None:
        """Nothing to release: the Database belongs to the composition root."""

    async def claim(self, key: str, ttl_s: float) -> bool:
        now = self._clock()
        async with self._db.transaction() as conn:
            if now >= self._next_purge:
                self._next_purge = now + self._purge_interval_s
                async with conn.execute("DELETE FROM dedup WHERE expires_at <= ?", (now,)) as cur:
                    if cur.rowcount:
                        _log.debug("purged %s expired dedup keys", cur.rowcount)
            async with conn.execute(_CLAIM, (key, now + ttl_s, now)) as cur:
                return cur.rowcount == 1
