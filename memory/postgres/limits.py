"""Rate limits and daily token usage in Postgres: the SQLite store's sliding-window log.

The count and the insert of one key run under a transaction-scoped advisory lock on that key,
so concurrent hits (from any process) never overshoot the limit; usage adds are one upsert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from memory.base import RateDecision
from memory.postgres.pool import PostgresDatabase

_log = logging.getLogger(__name__)

Clock = Callable[[], float]

_ADD_USAGE = """
INSERT INTO daily_usage (key, day, tokens, updated_at) VALUES (?, ?, ?, ?)
ON CONFLICT (key, day) DO UPDATE
SET tokens = daily_usage.tokens + excluded.tokens, updated_at = excluded.updated_at
RETURNING tokens
"""


class PostgresRateLimiter:
    """`RateLimiter` on the shared pool; stale rows are purged lazily, as SQLite's are."""

    def __init__(
        self,
        db: PostgresDatabase,
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
        """The schema is migrated when the pool opens."""

    async def close(self) -> None:
        """Nothing to release: the pool belongs to the composition root."""

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        now = self._clock()
        await self._maybe_purge(now)
        async with self._db.transaction() as conn:
            await conn.lock(f"rate:{key}")
            await conn.execute("DELETE FROM rate_hits WHERE key = ? AND at <= ?", (key, now - window_s))
            row = await conn.fetchone(
                "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM rate_hits WHERE key = ?", (key,)
            )
            count = int(row["n"]) if row is not None else 0
            if count < limit:
                await conn.execute(
                    "INSERT INTO rate_hits (key, at, expires_at) VALUES (?, ?, ?)", (key, now, now + window_s)
                )
                return RateDecision(allowed=True)
        oldest = float(row["oldest"]) if row is not None and row["oldest"] is not None else now
        return RateDecision(allowed=False, retry_after_s=max(0.0, oldest + window_s - now))

    async def add_usage(self, key: str, day: str, tokens: int) -> int:
        now = self._clock()
        await self._maybe_purge(now)
        row = await self._db.fetchone(_ADD_USAGE, (key, day, tokens, now))
        return int(row["tokens"]) if row is not None else tokens

    async def usage(self, key: str, day: str) -> int:
        row = await self._db.fetchone("SELECT tokens FROM daily_usage WHERE key = ? AND day = ?", (key, day))
        return int(row["tokens"]) if row is not None else 0

    async def _maybe_purge(self, now: float) -> None:
        """Each purge its own statement, outside any key's lock: a purge holding rows of a key
        while waiting for that key's lock would deadlock with the hit holding it."""
        if now < self._next_purge:
            return
        self._next_purge = now + self._purge_interval_s
        await self._db.execute("DELETE FROM rate_hits WHERE expires_at <= ?", (now,))
        await self._db.execute(
            "DELETE FROM daily_usage WHERE updated_at < ?", (now - self._usage_retention_s,)
        )
