"""Rate limits and daily token usage in SQLite.

`hit` is a sliding-window log: one row per accepted event, counted over the last `window_s`
seconds. Refused events are not recorded, so a client that keeps retrying is let in again as
soon as its oldest accepted event leaves the window. The check and the insert share one write
transaction, so concurrent hits never overshoot the limit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import aiosqlite

from memory.base import RateDecision
from memory.sqlite.db import Database

_log = logging.getLogger(__name__)

Clock = Callable[[], float]
SCHEMA_NAME = "limits"
DDL = """
CREATE TABLE IF NOT EXISTS rate_hits (
    key TEXT NOT NULL,
    at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_hits_key_at ON rate_hits (key, at);
CREATE INDEX IF NOT EXISTS rate_hits_expiry ON rate_hits (expires_at);
CREATE TABLE IF NOT EXISTS daily_usage (
    key TEXT NOT NULL,
    day TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (key, day)
);
CREATE INDEX IF NOT EXISTS daily_usage_updated ON daily_usage (updated_at);
"""

_ADD_USAGE = """
INSERT INTO daily_usage (key, day, tokens, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (key, day) DO UPDATE
SET tokens = tokens + excluded.tokens, updated_at = excluded.updated_at
RETURNING tokens
"""


class SqliteRateLimiter:
    """`RateLimiter` on the shared `Database`.

    Stale rows (hits of keys that stopped hitting, usage older than `usage_retention_s`) are
    purged lazily, at most once per `purge_interval_s`.
    """

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock = time.time,
        usage_retention_s: float = 8 * 86400.0,
        purge_interval_s: float = 300.0,
    ) -> None:
        self._db = db
        self._clock = clock
        self._usage_retention_s = usage_retention_s
        self._purge_interval_s = purge_interval_s
        self._next_purge = 0.0

    async def start(self) -> None:
        await self._db.ensure_schema(SCHEMA_NAME, DDL)

    async def close(self) -> None:
        """Nothing to release: the Database belongs to the composition root."""

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        now = self._clock()
        async with self._db.transaction() as conn:
            await self._maybe_purge(conn, now)
            await conn.execute("DELETE FROM rate_hits WHERE key = ? AND at <= ?", (key, now - window_s))
            async with conn.execute(
                "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM rate_hits WHERE key = ?", (key,)
            ) as cur:
                row = await cur.fetchone()
            count = int(row["n"]) if row is not None else 0
            if count < limit:
                await conn.execute(
                    "INSERT INTO rate_hits (key, at, expires_at) VALUES (?, ?, ?)",
                    (key, now, now + window_s),
                )
                return RateDecision(allowed=True)
        oldest = float(row["oldest"]) if row is not None and row["oldest"] is not None else now
        return RateDecision(allowed=False, retry_after_s=max(0.0, oldest + window_s - now))

    async def add_usage(self, key: str, day: str, tokens: int) -> int:
        now = self._clock()
        async with self._db.transaction() as conn:
            await self._maybe_purge(conn, now)
            async with conn.execute(_ADD_USAGE, (key, day, tokens, now)) as cur:
                row = await cur.fetchone()
        return int(row["tokens"]) if row is not None else tokens

    async def usage(self, key: str, day: str) -> int:
        row = await self._db.fetchone("SELECT tokens FROM daily_usage WHERE key = ? AND day = ?", (key, day))
        return int(row["tokens"]) if row is not None else 0

    async def _maybe_purge(self, conn: aiosqlite.Connection, now: float) -> None:
        if now < self._next_purge:
            return
        self._next_purge = now + self._purge_interval_s
        await conn.execute("DELETE FROM rate_hits WHERE expires_at <= ?", (now,))
        await conn.execute("DELETE FROM daily_usage WHERE updated_at < ?", (now - self._usage_retention_s,))
