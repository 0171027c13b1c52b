"""Redis-only behaviour: capped sessions, server-time windows, the key prefix, the session lock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from memory.records import Turn, Visibility
from memory.redis.dedup import RedisEventDedup
from memory.redis.history import RedisHistoryStore
from memory.redis.keys import text
from memory.redis.limits import RedisRateLimiter
from memory.redis.lock import LockLost, LockTimeout, RedisSessionLock, RedisSessionLocks

pytestmark = pytest.mark.redis

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
IN_ROOM1 = Visibility(owners=frozenset({"discord:alice"}), scope="room:discord:room1")


def turn(event_id: str, minute: int, owner: str = "discord:alice") -> Turn:
    return Turn(
        event_id=event_id,
        session="discord:room1",
        role="user",
        owner=owner,
        author_name="Alice",
        text=f"message {event_id}",
        created_at=T0 + timedelta(minutes=minute),
        scope="room:discord:room1",
        platform="discord",
        room_id="room1",
    )


async def test_history_keeps_only_the_newest_turns_of_a_session(redis_client: Redis) -> None:
    history = RedisHistoryStore(redis_client, max_turns=3)
    await history.append([turn(f"e{i}", i) for i in range(5)])

    assert [t.event_id for t in await history.recent("discord:room1", 10, visibility=IN_ROOM1)] == [
        "e2",
        "e3",
        "e4",
    ]
    assert [t.event_id for t in await history.export(frozenset({"discord:alice"}))] == ["e2", "e3", "e4"]
    # A redelivered turn that already fell off stays off: it is older than everything kept.
    await history.append([turn("e0", 0)])
    assert [t.event_id for t in await history.recent("discord:room1", 10, visibility=IN_ROOM1)] == [
        "e2",
        "e3",
        "e4",
    ]


async def test_forgetting_a_session_empties_its_owner_index(redis_client: Redis) -> None:
    history = RedisHistoryStore(redis_client, prefix="t:")
    await history.append([turn("e1", 0), turn("e2", 1)])

    assert await history.forget(frozenset({"discord:alice"})) == 2
    assert await redis_client.keys("t:*") == [b"t:history:seq"]


async def test_every_key_lives_under_the_configured_prefix(redis_client: Redis) -> None:
    await RedisHistoryStore(redis_client, prefix="myapp:").append([turn("e1", 0)])
    await RedisEventDedup(redis_client, prefix="myapp:").claim("ev", 60)
    limiter = RedisRateLimiter(redis_client, prefix="myapp:")
    await limiter.hit("user:alice", 5, 60)
    await limiter.add_usage("user:alice", "2026-11-24", 5)
    async with RedisSessionLock(redis_client, "discord:room1", prefix="myapp:"):
        keys = {text(key) for key in await redis_client.keys("*")}

    assert keys
    assert all(key.startswith("myapp:") for key in keys), keys


async def test_usage_counters_expire(redis_client: Redis) -> None:
    limiter = RedisRateLimiter(redis_client, usage_ttl_s=3600)
    await limiter.add_usage("user:alice", "2026-11-24", 5)

    ttl_ms = await redis_client.pttl("familiar:limits:u:user:alice:2026-11-24")
    assert 0 < ttl_ms <= 3_600_000


async def test_sliding_window_on_server_time(redis_client: Redis) -> None:
    limiter = RedisRateLimiter(redis_client)  # no clock: Redis TIME decides
    assert (await limiter.hit("user:alice", 1, 0.2)).allowed
    refused = await limiter.hit("user:alice", 1, 0.2)
    assert not refused.allowed
    assert 0 < refused.retry_after_s <= 0.2

    await asyncio.sleep(refused.retry_after_s + 0.02)
    assert (await limiter.hit("user:alice", 1, 0.2)).allowed


async def test_two_holders_exclude_each_other(redis_client: Redis) -> None:
    locks = RedisSessionLocks(redis_client)
    first, second = locks.lock("discord:room1"), locks.lock("discord:room1")

    assert await first.try_acquire()
    assert not await second.try_acquire()
    assert await locks.lock("discord:room2").try_acquire()  # other sessions are free

    waiter = asyncio.create_task(second.acquire())
    await asyncio.sleep(0.05)
    assert not waiter.done()
    assert await first.release()
    assert await waiter
    assert second.held


async def test_release_by_a_non_owner_does_nothing(redis_client: Redis) -> None:
    holder = RedisSessionLock(redis_client, "discord:room1")
    stranger = RedisSessionLock(redis_client, "discord:room1")
    assert await holder.try_acquire()

    assert not await stranger.release()
    assert not await stranger.try_acquire()
    assert await holder.release()
    assert await stranger.try_acquire()


async def test_an_expired_holder_cannot_release_the_next_one(redis_client: Redis) -> None:
    slow = RedisSessionLock(redis_client, "discord:room1", ttl_s=0.1)
    assert await slow.try_acquire()
    await asyncio.sleep(0.15)

    fresh = RedisSessionLock(redis_client, "discord:room1")
    assert await fresh.try_acquire()
    assert not await slow.release()
    assert not await RedisSessionLock(redis_client, "discord:room1").try_acquire()


async def test_context_manager_waits_then_gives_up(redis_client: Redis) -> None:
    async with RedisSessionLock(redis_client, "discord:room1") as held:
        assert held.held
        with pytest.raises(LockTimeout):
            async with RedisSessionLock(redis_client, "discord:room1", wait_s=0.05):
                pass
    # Released on exit: the next holder gets it at once.
    async with RedisSessionLock(redis_client, "discord:room1", wait_s=0.05) as again:
        assert again.held


async def test_a_holder_keeps_its_short_lease_alive_while_it_works(redis_client: Redis) -> None:
    async with RedisSessionLock(redis_client, "discord:room1", ttl_s=0.3):
        await asyncio.sleep(1.0)  # more than three leases
        assert not await RedisSessionLock(redis_client, "discord:room1").try_acquire()
    assert await RedisSessionLock(redis_client, "discord:room1").try_acquire()


async def test_a_dead_holders_lock_frees_within_its_lease(redis_client: Redis) -> None:
    dead = RedisSessionLock(redis_client, "discord:room1", ttl_s=0.3)
    assert await dead.try_acquire()  # acquired, then the process died: nobody renews it

    # Bounded by the lease plus a margin, never by the longest turn.
    assert await RedisSessionLock(redis_client, "discord:room1").acquire(timeout_s=0.3 + 2.0)


async def test_a_lock_taken_by_another_holder_stops_the_body(redis_client: Redis) -> None:
    progress: list[str] = []

    async def turn() -> None:
        async with RedisSessionLock(redis_client, "discord:room1", ttl_s=0.3):
            # Its lease lapsed (a stalled loop, say) and another process took the session.
            await redis_client.set("familiar:lock:discord:room1", b"someone-else")
            progress.append("started")
            await asyncio.sleep(5.0)
            progress.append("finished")

    with pytest.raises(LockLost):
        await turn()
    assert progress == ["started"]
    assert await redis_client.get("familiar:lock:discord:room1") == b"someone-else"
