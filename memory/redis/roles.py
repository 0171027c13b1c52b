"""Process roles on Redis: the journal writer's leader lease and every process's heartbeat.

Leader lease: `SET key holder NX PX ttl`, renewed by its holder (a Lua compare-and-expire) more
often than it lapses; a holder that dies stops renewing and another process takes it within one
lease. So the journal entries and the daily reflection are written by one process at a time (their
ids are deterministic, so a leader that paused past its lease and wrote once more writes the same
entry, never a second one).

Heartbeats: each process of a role sets `familiar:role:<role>:<name>` with a short expiry and
refreshes it; `familiar doctor` lists the keys alive, so a dead worker disappears by itself.
"""

from __future__ import annotations

import json
import logging
import time

from redis.asyncio import Redis

from memory.queue import RoleBeat
from memory.redis.keys import DEFAULT_PREFIX, KeySpace, millis, text

_log = logging.getLogger(__name__)

# 1: the lease is ours (renewed, or taken because nobody held it); 0: another process holds it.
_HOLD = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisLeaderLease:
    def __init__(
        self, client: Redis, *, name: str, holder: str, ttl_s: float = 15.0, prefix: str = DEFAULT_PREFIX
    ) -> None:
        self._client = client
        self._key = KeySpace(prefix, "leader")(name)
        self._holder = holder
        self.ttl_s = ttl_s
        self._hold = client.register_script(_HOLD)
        self._release = client.register_script(_RELEASE)
        self._held = False

    async def hold(self) -> bool:
        held = bool(await self._hold(keys=[self._key], args=[self._holder, millis(self.ttl_s)]))
        if held != self._held:
            _log.info("%s the leader lease %s", "took" if held else "lost", self._key)
        self._held = held
        return held

    async def release(self) -> None:
        if self._held:
            await self._release(keys=[self._key], args=[self._holder])
            self._held = False

    async def holder(self) -> str | None:
        raw = await self._client.get(self._key)
        return None if raw is None else text(raw)


class RedisHeartbeats:
    def __init__(self, client: Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self._client = client
        self._key = KeySpace(prefix, "role")

    async def beat(self, role: str, name: str, detail: str, ttl_s: float) -> None:
        value = json.dumps({"detail": detail, "at": time.time()})
        await self._client.set(self._key(role, name), value, px=millis(ttl_s))

    async def gone(self, role: str, name: str) -> None:
        await self._client.delete(self._key(role, name))

    async def alive(self) -> list[RoleBeat]:
        beats: list[RoleBeat] = []
        async for raw_key in self._client.scan_iter(match=self._key("*")):
            key = text(raw_key)
            raw = await self._client.get(key)
            if raw is None:
                continue
            role, _, name = key.removeprefix(self._key("")).partition(":")
            value = json.loads(text(raw))
            beats.append(
                RoleBeat(role=role, name=name, detail=value["detail"], age_s=time.time() - value["at"])
            )
        return sorted(beats, key=lambda b: (b.role, b.name))
