"""Inbound event de-duplication in Redis: SET NX PX, one claim per key within the TTL.

Shared by every process on the same Redis, so two instances never answer the same event.
"""

from __future__ import annotations

from redis.asyncio import Redis

from memory.redis.keys import DEFAULT_PREFIX, KeySpace, millis


class RedisEventDedup:
    """`EventDedup` on a shared `redis.asyncio.Redis` client (not closed here)."""

    def __init__(self, client: Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._key = KeySpace(prefix, "dedup")

    async def start(self) -> None:
        """Nothing to open: the client belongs to the composition root."""

    async def close(self) -> None:
        """Nothing to release: the client belongs to the composition root."""

    async def claim(self, key: str, ttl_s: float) -> bool:
        claimed = await self._client.set(self._key(key), b"1", nx=True, px=millis(ttl_s))
        return bool(claimed)
