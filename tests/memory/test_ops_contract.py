"""One contract for history, dedup and rate limits, run against SQLite, a real redis-server and a
real Postgres.

Every backend must behave identically: the composition root picks one by configuration
(`REDIS_URL`, `DATABASE_URL`) and nothing else may notice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from memory.base import Claim, EventDedup, HistoryStore, RateLimiter
from memory.postgres.dedup import PostgresEventDedup
from memory.postgres.history import PostgresHistoryStore
from memory.postgres.limits import PostgresRateLimiter
from memory.postgres.pool import PostgresDatabase
from memory.records import Turn, Visibility
from memory.redis.dedup import RedisEventDedup
from memory.redis.history import RedisHistoryStore
from memory.redis.limits import RedisRateLimiter
from memory.sqlite.db import Database
from memory.sqlite.dedup import SqliteEventDedup
from memory.sqlite.history import SqliteHistoryStore
from memory.sqlite.limits import SqliteRateLimiter

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
# Alice in room1: its conversation is on everyone's screen there, so every room1 line is visible.
IN_ROOM1 = Visibility(owners=frozenset({"discord:alice"}), scope="room:discord:room1")


def in_dm(owner: str) -> Visibility:
    return Visibility(owners=frozenset({owner}), scope="dm")


class ManualClock:
    """Epoch seconds that only move when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SqliteOps:
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = ManualClock()
        self._dbs: list[Database] = []

    async def _db(self) -> Database:
        db = Database(self.path)
        await db.open()
        self._dbs.append(db)
        return db

    async def history(self) -> HistoryStore:
        store = SqliteHistoryStore(await self._db())
        await store.start()
        return store

    async def dedup(self) -> EventDedup:
        """A new store on its own connection: a restarted (or second) process."""
        store = SqliteEventDedup(await self._db(), clock=self.clock)
        await store.start()
        return store

    async def limits(self) -> RateLimiter:
        store = SqliteRateLimiter(await self._db(), clock=self.clock)
        await store.start()
        return store

    async def elapse(self, seconds: float) -> None:
        self.clock.advance(seconds)

    async def close(self) -> None:
        for db in self._dbs:
            await db.close()


class RedisOps:
    name = "redis"

    def __init__(self, client: Redis) -> None:
        self.client = client
        self.clock = ManualClock()

    async def history(self) -> HistoryStore:
        return RedisHistoryStore(self.client)

    async def dedup(self) -> EventDedup:
        return RedisEventDedup(self.client)

    async def limits(self) -> RateLimiter:
        return RedisRateLimiter(self.client, clock=self.clock)

    async def elapse(self, seconds: float) -> None:
        # Dedup TTLs are kept by the server itself: real time has to pass.
        self.clock.advance(seconds)
        await asyncio.sleep(seconds)


class PostgresOps:
    """Each store on its own pool: a restarted (or second) process on the same database."""

    name = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        self.clock = ManualClock()
        self._pools: list[PostgresDatabase] = []

    async def _pool(self) -> PostgresDatabase:
        pool = PostgresDatabase(self.url)
        await pool.open()
        self._pools.append(pool)
        return pool

    async def history(self) -> HistoryStore:
        return PostgresHistoryStore(await self._pool())

    async def dedup(self) -> EventDedup:
        return PostgresEventDedup(await self._pool(), clock=self.clock)

    async def limits(self) -> RateLimiter:
        return PostgresRateLimiter(await self._pool(), clock=self.clock)

    async def elapse(self, seconds: float) -> None:
        self.clock.advance(seconds)

    async def close(self) -> None:
        for pool in self._pools:
            await pool.close()


Ops = SqliteOps | RedisOps | PostgresOps


@pytest.fixture
async def sqlite_ops(tmp_path: Path) -> AsyncIterator[SqliteOps]:
    ops = SqliteOps(tmp_path / "familiar.db")
    yield ops
    await ops.close()


@pytest.fixture
def redis_ops(redis_client: Redis) -> RedisOps:
    return RedisOps(redis_client)


@pytest.fixture
async def postgres_ops(postgres_url: str) -> AsyncIterator[PostgresOps]:
    ops = PostgresOps(postgres_url)
    yield ops
    await ops.close()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def ops(request: pytest.FixtureRequest) -> Ops:
    backend: Ops = request.getfixturevalue(f"{request.param}_ops")
    return backend


def turn(
    event_id: str,
    text: str,
    *,
    minute: float = 0,
    session: str = "discord:room1",
    owner: str = "discord:alice",
    role: str = "user",
) -> Turn:
    return Turn(
        event_id=event_id,
        session=session,
        role="assistant" if role == "assistant" else "user",
        owner=owner,
        author_name=owner.rsplit(":", maxsplit=1)[-1].title(),
        text=text,
        created_at=T0 + timedelta(minutes=minute),
        scope="room:discord:room1",
        platform="discord",
        room_id="room1",
        thread_id=None,
        persona="familiar",
    )


def ids(turns: list[Turn]) -> list[str]:
    return [t.event_id for t in turns]


# --- history -------------------------------------------------------------------------------


async def test_recent_is_newest_last_and_limited_to_the_session(ops: Ops) -> None:
    history = await ops.history()
    await history.append([turn(f"e{i}", f"message {i}", minute=i) for i in range(5)])
    await history.append([turn("other", "elsewhere", minute=9, session="discord:room2")])

    assert ids(await history.recent("discord:room1", 3, visibility=IN_ROOM1)) == ["e2", "e3", "e4"]
    assert ids(await history.recent("discord:room1", 10, visibility=IN_ROOM1)) == [
        "e0",
        "e1",
        "e2",
        "e3",
        "e4",
    ]
    assert ids(await history.recent("discord:room2", 10, visibility=IN_ROOM1)) == ["other"]
    assert await history.recent("discord:nowhere", 10, visibility=IN_ROOM1) == []


async def test_a_turn_stored_late_lands_where_it_happened(ops: Ops) -> None:
    history = await ops.history()
    await history.append([turn("a", "first", minute=0), turn("c", "third", minute=2)])
    await history.append([turn("b", "second", minute=1)])
    # Same timestamp: insertion order decides.
    await history.append([turn("d1", "reply part 1", minute=3), turn("d2", "reply part 2", minute=3)])

    assert ids(await history.recent("discord:room1", 10, visibility=IN_ROOM1)) == ["a", "b", "c", "d1", "d2"]


async def test_append_is_idempotent_on_event_id(ops: Ops) -> None:
    history = await ops.history()
    await history.append([turn("e1", "hello", minute=0)])
    await history.append([turn("e1", "hello (retried job)", minute=0), turn("e2", "next", minute=1)])

    recent = await history.recent("discord:room1", 10, visibility=IN_ROOM1)
    assert [(t.event_id, t.text) for t in recent] == [("e1", "hello"), ("e2", "next")]


async def test_turns_round_trip_every_field(ops: Ops) -> None:
    history = await ops.history()
    original = Turn(
        event_id="m:$ev1",
        session="matrix:!room:example.org:thread",
        role="assistant",
        owner="matrix:@zoë:example.org",
        author_name="Zoë ✨",
        text='Sure — "quoted", emoji 🎉, newline\nand a tab\t.',
        created_at=datetime(2026, 5, 1, 8, 30, 15, 123456, tzinfo=UTC),
        scope="dm",
        platform="matrix",
        room_id="!room:example.org",
        thread_id="$thread",
        persona="harry",
    )
    await history.append([original])

    assert await history.recent(original.session, 1, visibility=in_dm(original.owner)) == [original]
    assert await history.export(frozenset({original.owner})) == [original]


async def test_export_returns_all_turns_of_the_owners_oldest_first(ops: Ops) -> None:
    history = await ops.history()
    await history.append(
        [
            turn("a1", "alice in room 1", minute=2),
            turn("b1", "bob in room 1", minute=1, owner="discord:bob"),
            turn("a2", "alice on matrix", minute=1, session="matrix:dm", owner="matrix:alice"),
            turn("a3", "alice again", minute=5, session="discord:room2"),
        ]
    )

    alice = frozenset({"discord:alice", "matrix:alice"})
    assert ids(await history.export(alice)) == ["a2", "a1", "a3"]
    assert ids(await history.export(frozenset({"discord:bob"}))) == ["b1"]
    assert await history.export(frozenset({"discord:nobody"})) == []


async def test_forget_by_phrase_removes_only_matching_turns_of_those_owners(ops: Ops) -> None:
    history = await ops.history()
    await history.append(
        [
            turn("a1", "I moved to Paris last year", minute=0),
            turn("r1", "Paris is lovely", minute=1, role="assistant"),
            turn("a2", "My cat is called Tom", minute=2),
            turn("b1", "I also love paris", minute=3, owner="discord:bob"),
            turn("a3", "Cet été à Paris", minute=4, session="matrix:dm", owner="matrix:alice"),
        ]
    )

    alice = frozenset({"discord:alice", "matrix:alice"})
    assert await history.forget(alice, "PARIS") == 3

    assert ids(await history.export(alice)) == ["a2"]
    assert ids(await history.recent("discord:room1", 10, visibility=IN_ROOM1)) == ["a2", "b1"]
    assert ids(await history.export(frozenset({"discord:bob"}))) == ["b1"]
    assert await history.forget(alice, "paris") == 0


async def test_forget_phrase_is_case_insensitive_beyond_ascii(ops: Ops) -> None:
    history = await ops.history()
    await history.append([turn("a1", "Cet ÉTÉ était chaud", minute=0), turn("a2", "hiver", minute=1)])

    assert await history.forget(frozenset({"discord:alice"}), "été") == 1
    assert ids(await history.recent("discord:room1", 10, visibility=IN_ROOM1)) == ["a2"]


async def test_forget_everything_of_the_owners_keeps_other_people(ops: Ops) -> None:
    history = await ops.history()
    await history.append(
        [
            turn("a1", "one", minute=0),
            turn("a2", "two", minute=1, session="discord:room2"),
            turn("b1", "bob's", minute=2, owner="discord:bob"),
        ]
    )

    assert await history.forget(frozenset({"discord:alice"})) == 2
    assert await history.export(frozenset({"discord:alice"})) == []
    assert ids(await history.recent("discord:room1", 10, visibility=IN_ROOM1)) == ["b1"]
    assert await history.recent("discord:room2", 10, visibility=IN_ROOM1) == []


async def test_history_survives_a_restart(ops: Ops) -> None:
    first = await ops.history()
    await first.append([turn("e1", "remember me", minute=0)])
    await first.close()
    await first.close()  # idempotent

    second = await ops.history()
    assert ids(await second.recent("discord:room1", 5, visibility=IN_ROOM1)) == ["e1"]


# --- dedup: in progress under a lease, then answered -------------------------------------


async def test_a_key_is_handed_out_once_while_in_progress_and_never_once_answered(ops: Ops) -> None:
    holder, other = await ops.dedup(), await ops.dedup()
    assert await holder.claim("discord:msg1", 60) is Claim.NEW
    assert await holder.claim("discord:msg1", 60) is Claim.HERE  # a re-delivery mid-turn
    assert await other.claim("discord:msg1", 60) is Claim.ELSEWHERE
    await holder.complete("discord:msg1", 3600)
    assert await holder.claim("discord:msg1", 60) is Claim.DONE
    assert await other.claim("discord:msg1", 60) is Claim.DONE
    assert await other.claim("discord:msg2", 60) is Claim.NEW


async def test_an_answered_claim_survives_a_restart(ops: Ops) -> None:
    before = await ops.dedup()
    assert await before.claim("discord:msg1", 60) is Claim.NEW
    await before.complete("discord:msg1", 3600)
    await before.close()

    after = await ops.dedup()
    assert await after.claim("discord:msg1", 60) is Claim.DONE


async def test_a_claim_whose_holder_died_is_resumed_once_after_its_lease(ops: Ops) -> None:
    dead = await ops.dedup()
    assert await dead.claim("discord:msg1", 0.15) is Claim.NEW  # then killed: never renewed
    restarted, third = await ops.dedup(), await ops.dedup()
    assert await restarted.claim("discord:msg1", 60) is Claim.ELSEWHERE

    await ops.elapse(0.2)
    assert await restarted.claim("discord:msg1", 60) is Claim.RESUMED
    assert await third.claim("discord:msg1", 60) is Claim.ELSEWHERE
    assert await dead.renew(["discord:msg1"], 60) == 0  # no longer the dead one's


async def test_renewing_keeps_a_claim_past_its_first_lease(ops: Ops) -> None:
    holder, other = await ops.dedup(), await ops.dedup()
    assert await holder.claim("discord:msg1", 0.3) is Claim.NEW
    await ops.elapse(0.2)
    assert await holder.renew(["discord:msg1", "discord:unknown"], 0.3) == 1
    assert await other.renew(["discord:msg1"], 0.3) == 0
    await ops.elapse(0.2)
    assert await other.claim("discord:msg1", 0.3) is Claim.ELSEWHERE


async def test_a_released_claim_is_handed_out_again_at_once(ops: Ops) -> None:
    holder, other = await ops.dedup(), await ops.dedup()
    assert await holder.claim("discord:msg1", 60) is Claim.NEW
    await other.release("discord:msg1")  # not its claim: nothing happens
    assert await other.claim("discord:msg1", 60) is Claim.ELSEWHERE

    await holder.release("discord:msg1")  # stopped before answering
    assert await other.claim("discord:msg1", 60) is Claim.NEW


async def test_an_answered_claim_expires_after_its_ttl(ops: Ops) -> None:
    dedup = await ops.dedup()
    assert await dedup.claim("discord:msg1", 60) is Claim.NEW
    await dedup.complete("discord:msg1", 0.15)
    assert await dedup.claim("discord:msg1", 60) is Claim.DONE

    await ops.elapse(0.2)
    assert await dedup.claim("discord:msg1", 60) is Claim.NEW


async def test_concurrent_claims_of_one_key_yield_exactly_one_winner(ops: Ops) -> None:
    # Two store objects (two connections / two processes' view) racing with many coroutines.
    stores = [await ops.dedup(), await ops.dedup()]
    results = await asyncio.gather(*(stores[i % 2].claim("discord:hot", 60) for i in range(40)))

    assert sum(result.won for result in results) == 1


# --- rate limits and usage -----------------------------------------------------------------


async def test_sliding_window_refuses_beyond_the_limit_with_retry_after(ops: Ops) -> None:
    limits = await ops.limits()
    for _ in range(3):
        assert (await limits.hit("user:alice", 3, 10.0)).allowed
        ops.clock.advance(1.0)

    refused = await limits.hit("user:alice", 3, 10.0)
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(7.0)

    ops.clock.advance(7.0)  # the first hit leaves the window
    assert (await limits.hit("user:alice", 3, 10.0)).allowed
    again = await limits.hit("user:alice", 3, 10.0)
    assert not again.allowed
    assert again.retry_after_s == pytest.approx(1.0)


async def test_refused_hits_do_not_extend_the_wait(ops: Ops) -> None:
    limits = await ops.limits()
    assert (await limits.hit("user:bob", 1, 5.0)).allowed
    for _ in range(4):
        ops.clock.advance(1.0)
        assert not (await limits.hit("user:bob", 1, 5.0)).allowed

    ops.clock.advance(1.0)
    assert (await limits.hit("user:bob", 1, 5.0)).allowed


async def test_limits_are_per_key(ops: Ops) -> None:
    limits = await ops.limits()
    assert (await limits.hit("user:alice", 1, 60.0)).allowed
    assert not (await limits.hit("user:alice", 1, 60.0)).allowed
    assert (await limits.hit("user:bob", 1, 60.0)).allowed


async def test_concurrent_hits_never_overshoot_the_limit(ops: Ops) -> None:
    limits = await ops.limits()
    decisions = await asyncio.gather(*(limits.hit("room:busy", 5, 60.0) for _ in range(30)))

    assert sum(d.allowed for d in decisions) == 5


async def test_daily_usage_accumulates_per_key_and_day(ops: Ops) -> None:
    limits = await ops.limits()
    assert await limits.add_usage("user:alice", "2026-11-24", 120) == 120
    assert await limits.add_usage("user:alice", "2026-11-24", 30) == 150
    assert await limits.add_usage("user:alice", "2026-11-25", 7) == 7

    assert await limits.usage("user:alice", "2026-11-24") == 150
    assert await limits.usage("user:bob", "2026-11-24") == 0
    assert await limits.usage("user:alice", "2026-11-23") == 0

    restarted = await ops.limits()
    assert await restarted.usage("user:alice", "2026-11-24") == 150


async def test_concurrent_usage_adds_are_not_lost(ops: Ops) -> None:
    limits = await ops.limits()
    await asyncio.gather(*(limits.add_usage("user:alice", "2026-11-24", 10) for _ in range(25)))

    assert await limits.usage("user:alice", "2026-11-24") == 250


async def test_claims_from_before_leases_count_as_answered(db: Database) -> None:
    # A data directory written by the previous version: no owner column, every claim answered.
    await db.execute("CREATE TABLE dedup (key TEXT PRIMARY KEY, expires_at REAL NOT NULL)")
    await db.execute("INSERT INTO dedup VALUES ('discord:old', ?)", (time.time() + 3600,))
    dedup = SqliteEventDedup(db)
    await dedup.start()

    assert await dedup.claim("discord:old", 60) is Claim.DONE
    assert await dedup.claim("discord:new", 60) is Claim.NEW
