"""A distributed per-session lock for multi-process deployments (one turn at a time per session).

Acquire is `SET key token NX PX ttl`; release deletes the key only if it still holds our token
(a Lua compare-and-delete), so a holder whose lock expired can never release someone else's.

TTL: the lock is NOT renewed. `ttl_s` (default 120 s) must exceed the longest turn it guards
(gathering + one LLM call including retries and fallbacks); if a holder outlives it, another
process may start a turn for the same session. A crashed holder blocks the session for at most
`ttl_s`. Waiters poll with a short, jittered back-off (Redis has no blocking SET NX).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from types import TracebackType

from redis.asyncio import Redis

from memory.redis.keys import DEFAULT_PREFIX, KeySpace, millis

_log = logging.getLogger(__name__)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LockTimeout(TimeoutError):
    """The lock was not acquired within the wait timeout."""


class RedisSessionLock:
    """One lock on one name. Not reentrant; one object per holder (each has its own token).

    `async with lock:` waits up to `wait_s` (None: forever) and raises `LockTimeout` beyond it.
    """

    def __init__(
        self,
        client: Redis,
        name: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl_s: float = 120.0,
        wait_s: float | None = None,
        poll_s: float = 0.02,
    ) -> None:
        self._client = client
        self._key = KeySpace(prefix, "lock")(name)
        self._token = os.urandom(16).hex().encode()
        self._ttl_s = ttl_s
        self._wait_s = wait_s
        self._poll_s = poll_s
        self._held = False
        self._release = client.register_script(_RELEASE)

    @property
    def held(self) -> bool:
        """Whether this object believes it holds the lock (it may have expired since)."""
        return self._held

    async def try_acquire(self) -> bool:
        self._held = bool(await self._client.set(self._key, self._token, nx=True, px=millis(self._ttl_s)))
        return self._held

    async def acquire(self, timeout_s: float | None = None) -> bool:
        """Wait for the lock; False if `timeout_s` passed first."""
        try:
            async with asyncio.timeout(timeout_s):
                # Polling on purpose: being woken on release would need a pub/sub connection
                # per waiter; a jittered short poll keeps the pool small and waiters fair enough.
                while not await self.try_acquire():  # noqa: ASYNC110
                    await asyncio.sleep(self._poll_s * (0.5 + random.random()))
        except TimeoutError:
            # The timeout may have cut in after Redis executed our SET: drop it if it is ours.
            await self._release(keys=[self._key], args=[self._token])
            self._held = False
            return False
        return True

    async def release(self) -> bool:
        """Release if still ours; False if it had expired or was never held by this object."""
        was_held, self._held = self._held, False
        released = bool(await self._release(keys=[self._key], args=[self._token]))
        if was_held and not released:
            _log.warning("session lock %s had expired before release", self._key)
        return released

    async def __aenter__(self) -> RedisSessionLock:
        if not await self.acquire(self._wait_s):
            raise LockTimeout(f"lock {self._key} not acquired within {self._wait_s}s")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()


class RedisSessionLocks:
    """Factory the composition root hands to the engine: `async with locks.lock(session): ...`."""

    def __init__(self, client: Redis, *, prefix: str = DEFAULT_PREFIX, ttl_s: float = 120.0) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_s = ttl_s

    def lock(self, session: str, *, wait_s: float | None = None) -> RedisSessionLock:
        return RedisSessionLock(self._client, session, prefix=self._prefix, ttl_s=self._ttl_s, wait_s=wait_s)

    async def close(self) -> None:
        """Nothing to release: the client belongs to the composition root."""
