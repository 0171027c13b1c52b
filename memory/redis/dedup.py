"""Inbound event claims in Redis: in progress under a lease, then answered for a long TTL.

Shared by every process on the same Redis, so two instances never answer the same event. A key
holds `d` once answered, or `p:<owner>:<lease deadline ms>` while in progress. The pending key
outlives its lease by `remember_s`, so a claim after the lease ran out knows it RESUMED an
interrupted event. Each transition is one Lua script on server time, so claimers on several
hosts agree without trusting each other's clocks.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from redis.asyncio import Redis

from memory.base import Claim
from memory.redis.keys import DEFAULT_PREFIX, KeySpace, millis, text

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
_CLAIM = (
    _NOW_MS
    + """
local v = redis.call('GET', KEYS[1])
local state = 'new'
if v then
  local owner, deadline = string.match(v, '^p:(.+):(%d+)$')
  if not deadline then return 'done' end
  if tonumber(deadline) > now then
    if owner == ARGV[1] then return 'here' end
    return 'elsewhere'
  end
  state = 'resumed'
end
local lease = tonumber(ARGV[2])
redis.call('SET', KEYS[1], 'p:' .. ARGV[1] .. ':' .. (now + lease), 'PX', lease + tonumber(ARGV[3]))
return state
"""
)
_RENEW = (
    _NOW_MS
    + """
local lease = tonumber(ARGV[2])
local renewed = 0
for _, key in ipairs(KEYS) do
  local v = redis.call('GET', key)
  if v and string.match(v, '^p:(.+):%d+$') == ARGV[1] then
    redis.call('SET', key, 'p:' .. ARGV[1] .. ':' .. (now + lease), 'PX', lease + tonumber(ARGV[3]))
    renewed = renewed + 1
  end
end
return renewed
"""
)
_RELEASE = """
local v = redis.call('GET', KEYS[1])
if v and string.match(v, '^p:(.+):%d+$') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW_CHUNK = 200  # keys per script call: one short script never stalls the server


class RedisEventDedup:
    """`EventDedup` on a shared `redis.asyncio.Redis` client (not closed here); one holder each."""

    def __init__(
        self, client: Redis, *, prefix: str = DEFAULT_PREFIX, remember_s: float = 24 * 3600.0
    ) -> None:
        self._client = client
        self._key = KeySpace(prefix, "dedup")
        self._owner = f"{os.getpid()}-{os.urandom(8).hex()}"
        self._remember_ms = str(millis(remember_s))
        self._claim = client.register_script(_CLAIM)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    async def start(self) -> None:
        """Nothing to open: the client belongs to the composition root."""

    async def close(self) -> None:
        """Nothing to release: the client belongs to the composition root."""

    async def claim(self, key: str, lease_s: float) -> Claim:
        args = [self._owner, str(millis(lease_s)), self._remember_ms]
        state = await self._claim(keys=[self._key(key)], args=args)
        return Claim(text(state))

    async def renew(self, keys: Sequence[str], lease_s: float) -> int:
        args = [self._owner, str(millis(lease_s)), self._remember_ms]
        renewed = 0
        for start in range(0, len(keys), _RENEW_CHUNK):
            chunk = [self._key(key) for key in keys[start : start + _RENEW_CHUNK]]
            renewed += int(await self._renew(keys=chunk, args=args))
        return renewed

    async def complete(self, key: str, ttl_s: float) -> None:
        await self._client.set(self._key(key), b"d", px=millis(ttl_s))

    async def release(self, key: str) -> None:
        await self._release(keys=[self._key(key)], args=[self._owner])
