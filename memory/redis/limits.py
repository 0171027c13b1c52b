"""Rate limits and daily token usage in Redis.

`hit` is a sliding-window log in a sorted set (score = time in ms), checked and recorded by one
Lua script, so concurrent hits from many processes never overshoot. Refused events are not
recorded (as in the SQLite backend). The time is the server's (`TIME`), so processes with skewed
clocks still agree; a `clock` may be passed instead (tests move time with it).
Daily usage is a counter per key and day (INCRBY), expiring after `usage_ttl_s`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, cast

from redis.asyncio import Redis

from memory.base import RateDecision
from memory.redis.keys import DEFAULT_PREFIX, KeySpace, millis, text

Clock = Callable[[], float]

# KEYS: the window's sorted set. ARGV: limit, window ms, now ms ('' = server time), member.
# Scores go to Redis through string.format: Lua's own number-to-string keeps 14 digits, which
# would round epoch milliseconds to 100 ms.
# Returns {allowed (1/0), retry-after ms as a string (Lua numbers would be truncated)}.
_HIT = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.3f', now - window))
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], string.format('%.3f', now), ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window))
  return {1, '0'}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tostring(tonumber(oldest[2]) + window - now)}
"""


class RedisRateLimiter:
    """`RateLimiter` on a shared `redis.asyncio.Redis` client (not closed here)."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        clock: Clock | None = None,
        usage_ttl_s: float = 8 * 86400.0,
    ) -> None:
        self._client = client
        self._key = KeySpace(prefix, "limits")
        self._clock = clock
        self._usage_ttl_s = usage_ttl_s
        self._hit = client.register_script(_HIT)

    async def start(self) -> None:
        """Nothing to open: the client belongs to the composition root."""

    async def close(self) -> None:
        """Nothing to release: the client belongs to the composition root."""

    async def hit(self, key: str, limit: int, window_s: float) -> RateDecision:
        now_ms = "" if self._clock is None else repr(self._clock() * 1000)
        # Members must be unique: two hits in the same millisecond are two events.
        member = os.urandom(8).hex()
        reply = await self._hit(keys=[self._key("w", key)], args=[limit, window_s * 1000, now_ms, member])
        allowed, retry_ms = int(reply[0]), float(text(reply[1]))
        if allowed:
            return RateDecision(allowed=True)
        return RateDecision(allowed=False, retry_after_s=max(0.0, retry_ms / 1000))

    async def add_usage(self, key: str, day: str, tokens: int) -> int:
        usage_key = self._key("u", key, day)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.incrby(usage_key, tokens)
            pipe.pexpire(usage_key, millis(self._usage_ttl_s))
            total, _ = await pipe.execute()
        return int(total)

    async def usage(self, key: str, day: str) -> int:
        value = await cast("Any", self._client.get(self._key("u", key, day)))
        return 0 if value is None else int(value)
