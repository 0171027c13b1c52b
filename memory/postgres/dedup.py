"""Inbound event claims in Postgres: the SQLite store's two-stage lease, decided by the server.

Each state change is one conditional statement: under READ COMMITTED a competing UPDATE waits
for the row lock and re-checks its WHERE, and a competing INSERT meets the primary key, so of
two processes claiming one expired or new key exactly one wins.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence

from memory.base import Claim
from memory.postgres.pool import PostgresDatabase

_log = logging.getLogger(__name__)

Clock = Callable[[], float]

_INSERT = "INSERT INTO dedup (key, expires_at, owner) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING key"
_COMPLETE = """
INSERT INTO dedup (key, expires_at, owner) VALUES (?, ?, NULL)
ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at, owner = NULL
"""


class PostgresEventDedup:
    """`EventDedup` on the shared pool; each object is one holder with its own owner id."""

    def __init__(
        self, db: PostgresDatabase, *, clock: Clock = time.time, purge_interval_s: float = 300.0
    ) -> None:
        self._db = db
        self._clock = clock
        self._purge_interval_s = purge_interval_s
        self._next_purge = 0.0
        self._owner = f"{os.getpid()}:{os.urandom(8).hex()}"

    async def start(self) -> None:
        """The schema is migrated when the pool opens."""

    async def close(self) -> None:
        """Nothing to release: the pool belongs to the composition root."""

    async def claim(self, key: str, lease_s: float) -> Claim:
        now = self._clock()
        await self._maybe_purge(now)
        for _ in range(3):  # a row deleted or inserted between our statements: look again
            row = await self._db.fetchone("SELECT owner, expires_at FROM dedup WHERE key = ?", (key,))
            if row is None:
                if await self._db.fetchone(_INSERT, (key, now + lease_s, self._owner)) is not None:
                    return Claim.NEW
                continue
            if float(row["expires_at"]) > now:
                return self._live(row["owner"])
            return await self._take_over(key, now, lease_s, resumed=row["owner"] is not None)
        return Claim.ELSEWHERE

    async def _take_over(self, key: str, now: float, lease_s: float, *, resumed: bool) -> Claim:
        """An expired claim: ours now, unless another claimer took it between our read and write."""
        updated = await self._db.execute(
            "UPDATE dedup SET expires_at = ?, owner = ? WHERE key = ? AND expires_at <= ?",
            (now + lease_s, self._owner, key, now),
        )
        if updated != 1:
            return Claim.ELSEWHERE
        return Claim.RESUMED if resumed else Claim.NEW

    def _live(self, owner: str | None) -> Claim:
        if owner is None:
            return Claim.DONE
        return Claim.HERE if owner == self._owner else Claim.ELSEWHERE

    async def _maybe_purge(self, now: float) -> None:
        if now < self._next_purge:
            return
        self._next_purge = now + self._purge_interval_s
        purged = await self._db.execute("DELETE FROM dedup WHERE expires_at <= ?", (now,))
        if purged:
            _log.debug("purged %s expired dedup keys", purged)

    async def renew(self, keys: Sequence[str], lease_s: float) -> int:
        if not keys:
            return 0
        return await self._db.execute(
            "UPDATE dedup SET expires_at = ? WHERE owner = ? AND key = ANY(?)",
            (self._clock() + lease_s, self._owner, list(keys)),
        )

    async def complete(self, key: str, ttl_s: float) -> None:
        await self._db.execute(_COMPLETE, (key, self._clock() + ttl_s))

    async def release(self, key: str) -> None:
        await self._db.execute("DELETE FROM dedup WHERE key = ? AND owner = ?", (key, self._owner))
