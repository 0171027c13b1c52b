"""A distributed per-session lock for multi-process deployments (one turn at a time per session).

Acquire is `SET key token NX PX lease`; release deletes the key only if it still holds our token
(a Lua compare-and-delete), so a holder whose lock expired can never release someone else's.

Lease: short (default 6 s) and renewed every third of it by a named task the holder owns while it
works, so a process that dies (kill -9, power loss) frees its sessions within one lease instead of
blocking them for the length of the longest turn. How long a holder may work is bounded by its
caller (the engine's turn timeout), not by the lock. If renewing finds another holder's token
(our lease lapsed, e.g. the loop stalled, and someone else took the session), the lock is lost:
it is logged and the body under `async with` is cancelled and ends with `LockLost`, so it never
goes on answering a session it no longer holds. If Redis is unreachable the renewal keeps trying
(the turn goes on; the key expires by itself). Waiters poll with a short, jittered back-off
(Redis has no blocking SET NX).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from types import TracebackType

from redis.asyncio import Redis
from redis.exceptions import RedisError

from memory.redis.keys import DEFAULT_PREFIX, KeySpace, millis

_log = logging.getLogger(__name__)

DEFAULT_LEASE_S = 6.0

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# 1: renewed (or re-taken after it lapsed with nobody else holding it); 0: someone else holds it.
_RENEW = """
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""


class LockTimeout(TimeoutError):
    """The lock was not acquired within the wait timeout."""


class LockLost(RuntimeError):
    """Another holder took the lock while the body still ran; the body was cancelled."""


class RedisSessionLock:
    """One lock on one name. Not reentrant; one object per holder (each has its own token).

    `async with lock:` waits up to `wait_s` (None: forever) and raises `LockTimeout` beyond it;
    while the body runs, a renewal task keeps the lease alive (see the module docstring).
    """

    def __init__(
        self,
        client: Redis,
        name: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl_s: float = DEFAULT_LEASE_S,
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
        self._lost = False
        self._holder: asyncio.Task[object] | None = None
        self._renewal: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)

    @property
    def held(self) -> bool:
        """Whether this object believes it holds the lock (it may have expired since)."""
        return self._held

    async def try_acquire(self) -> bool:
        self._held = bool(await self._client.set(self._key, self._token, nx=True, px=millis(self._ttl_s)))
        return self._held

    async def acquire(self, timeout_s: float | None = None) -> bool:
        """Wait for the lock; False if `timeout_s` passed first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        # Polling on purpose: being woken on release would need a pub/sub connection per waiter;
        # a jittered short poll keeps the pool small and waiters fair enough. The deadline is
        # checked between attempts rather than by cancelling one: a cancellation that lands in
        # the client's command (under load) was seen to be swallowed, and the waiter then polled
        # forever behind a holder that renews its lease.
        while not await self.try_acquire():
            if deadline is not None and loop.time() >= deadline:
                return False
            pause = self._poll_s * (0.5 + random.random())
            if deadline is not None:
                pause = min(pause, max(0.0, deadline - loop.time()))
            await asyncio.sleep(pause)
        return True

    async def release(self) -> bool:
        """Release if still ours; False if it had expired, was never held, or Redis is down
        (then the lease runs out by itself within `ttl_s`)."""
        await self._stop_renewal()
        was_held, self._held = self._held, False
        try:
            released = bool(await self._release(keys=[self._key], args=[self._token]))
        except RedisError as error:
            _log.warning("session lock %s not released (%s); it expires within its lease", self._key, error)
            return False
        if was_held and not released:
            _log.warning("session lock %s had expired before release", self._key)
        return released

    def start_renewal(self, holder: asyncio.Task[object] | None = None) -> None:
        """Keep the lease alive until `release()`; `holder` is cancelled if the lock is lost."""
        self._holder = holder
        self._stop.clear()
        self._renewal = asyncio.create_task(self._keep_alive(), name=f"session-lock-renewal:{self._key}")

    async def _keep_alive(self) -> None:
        failing = False
        while not await self._stopped_within(self._ttl_s / 3):
            try:
                renewed = bool(await self._renew(keys=[self._key], args=[self._token, millis(self._ttl_s)]))
            except RedisError as error:
                if not failing:  # once per outage, not once per renewal
                    _log.warning("session lock %s not renewed (%s); the turn goes on", self._key, error)
                failing = True
                continue
            failing = False
            if not renewed:
                self._lose()
                return

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait until the next renewal; True once release() asked the renewal to stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()
        return self._stop.is_set()

    def _lose(self) -> None:
        _log.error("session lock %s was taken by another holder mid-turn; stopping this turn", self._key)
        self._lost = True
        if self._holder is not None:
            self._holder.cancel()

    async def _stop_renewal(self) -> None:
        task, self._renewal = self._renewal, None
        # Asked, besides cancelled: under load a cancellation that lands inside the client's
        # command was seen to be swallowed, and the renewal then slept and renewed forever while
        # this release waited for it (the turn, and its session, hung).
        self._stop.set()
        if task is None or task is asyncio.current_task():
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def __aenter__(self) -> RedisSessionLock:
        if not await self.acquire(self._wait_s):
            raise LockTimeout(f"lock {self._key} not acquired within {self._wait_s}s")
        self.start_renewal(asyncio.current_task())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.release()
        except asyncio.CancelledError:
            if not self._lost:  # a cancellation of our own reached the release: not ours to keep
                raise
        holder, self._holder = self._holder, None
        if holder is None or not (self._lost and holder.cancelling()):
            return
        # Our cancellation of the body: report it as LockLost. A body that finished before the
        # cancellation landed keeps its result; someone else's cancellation goes on.
        if holder.uncancel() == 0 and exc_type is asyncio.CancelledError:
            raise LockLost(f"lock {self._key} was taken by another holder") from exc


class RedisSessionLocks:
    """Factory the composition root hands to the engine: `async with locks.lock(session): ...`."""

    def __init__(
        self, client: Redis, *, prefix: str = DEFAULT_PREFIX, ttl_s: float = DEFAULT_LEASE_S
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_s = ttl_s

    def lock(self, session: str, *, wait_s: float | None = None) -> RedisSessionLock:
        return RedisSessionLock(self._client, session, prefix=self._prefix, ttl_s=self._ttl_s, wait_s=wait_s)

    async def close(self) -> None:
        """Nothing to release: the client belongs to the composition root."""
