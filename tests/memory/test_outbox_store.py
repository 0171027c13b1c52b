"""The outbox on SQLite and on Postgres: a turn's history rows and its jobs land together or not
at all; jobs stay until done; dead letters keep the error; a forget records tombstones and drops
the person's jobs.
History in Redis (a real redis-server) is appended there first, then the jobs recorded."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from memory.base import HistoryStore, OutboxJob
from memory.records import Turn, Visibility
from memory.redis.history import RedisHistoryStore
from tests.support.relational import HistoryBackend, OutboxBackend, Relational

ALICE, BOB = "discord:alice", "discord:bob"
ALICE_DM = Visibility(owners=frozenset({ALICE}), scope="dm")


def turn(event_id: str, text: str, *, owner: str = ALICE) -> Turn:
    return Turn(
        event_id=event_id,
        session="discord:dm:-:*",
        role="user",
        owner=owner,
        author_name="Alice",
        text=text,
        created_at=datetime.now(UTC),
        scope="dm",
        platform="discord",
        room_id="dm",
    )


async def said(history: HistoryStore) -> list[str]:
    return [t.text for t in await history.recent("discord:dm:-:*", 10, visibility=ALICE_DM)]


def job(
    key: str, *, owners: frozenset[str] = frozenset({ALICE}), origin_ts: float | None = None
) -> OutboxJob:
    return OutboxJob(key=key, kind="memory", payload="{}", owners=owners, origin_ts=origin_ts or time.time())


async def _outbox(relational: Relational) -> tuple[HistoryBackend, OutboxBackend]:
    """History and outbox in one database: a turn and its jobs commit in one transaction."""
    history = await relational.history()
    return history, await relational.outbox(history)


async def test_history_and_jobs_commit_together_and_jobs_stay_until_done(relational: Relational) -> None:
    history, outbox = await _outbox(relational)
    await outbox.commit([turn("e1", "my bike is green")], [job("memory:e1"), job("hook:facts:e1")])

    assert await said(history) == ["my bike is green"]
    assert [j.key for j in await outbox.pending()] == ["memory:e1", "hook:facts:e1"]
    await outbox.done("memory:e1")
    assert [j.key for j in await outbox.pending()] == ["hook:facts:e1"]


async def test_a_failed_commit_stores_neither_the_turn_nor_its_jobs(relational: Relational) -> None:
    history, outbox = await _outbox(relational)
    await outbox.commit([], [job("memory:e1")])
    broken = OutboxJob(key="x", kind="memory", payload=None, owners=frozenset(), origin_ts=0.0)  # type: ignore[arg-type]
    with pytest.raises(Exception, match=r"(?i)not[ -]null"):
        await outbox.commit([turn("e2", "lost together")], [broken])
    assert await said(history) == []
    assert [j.key for j in await outbox.pending()] == ["memory:e1"]


async def test_postponed_and_dead_lettered_jobs_keep_their_attempts_and_error(relational: Relational) -> None:
    _, outbox = await _outbox(relational)
    await outbox.commit([], [job("memory:e1")])
    assert await outbox.postpone("memory:e1", due_ts=time.time() + 60, error="ConnectionError: refused") == 1
    [waiting] = await outbox.pending()
    assert waiting.attempts == 1
    assert waiting.due_ts > time.time()

    await outbox.dead_letter("memory:e1", "ValueError: bad payload")
    assert await outbox.pending() == []
    [dead] = await outbox.dead_letters()
    assert (dead.key, dead.error, dead.attempts) == ("memory:e1", "ValueError: bad payload", 2)


async def test_forget_drops_only_the_persons_jobs_and_records_tombstones(relational: Relational) -> None:
    _, outbox = await _outbox(relational)
    before = time.time() - 10
    shared = frozenset({ALICE, BOB})
    await outbox.commit(
        [],
        [
            job("memory:a", origin_ts=before),
            job("memory:b", owners=frozenset({BOB}), origin_ts=before),
            job("memory:ab", owners=shared, origin_ts=before),
        ],
    )
    dropped = await outbox.forget(frozenset({ALICE}), None, time.time())

    assert dropped == 1
    assert sorted(j.key for j in await outbox.pending()) == ["memory:ab", "memory:b"]
    [tombstone] = await outbox.forgotten(shared, before)
    assert (tombstone.owner, tombstone.phrase) == (ALICE, None)
    assert await outbox.forgotten(frozenset({ALICE}), time.time() + 1) == []


async def test_history_in_redis_is_appended_there_and_jobs_recorded_here(
    relational: Relational, redis_client: Redis
) -> None:
    history = RedisHistoryStore(redis_client)
    await history.start()
    outbox = await relational.outbox(history)

    await outbox.commit([turn("e1", "kept in redis")], [job("memory:e1")])

    assert await said(history) == ["kept in redis"]
    assert [j.key for j in await outbox.pending()] == ["memory:e1"]


async def test_a_forget_stays_unapplied_until_marked_and_is_then_pruned_in_time(
    relational: Relational,
) -> None:
    _, outbox = await _outbox(relational)
    at = time.time()
    await outbox.forget(frozenset({ALICE}), "alarm", at)
    [open_forget] = await outbox.unapplied()
    assert (open_forget.owner, open_forget.phrase, open_forget.applied) == (ALICE, "alarm", False)

    await outbox.mark_applied(frozenset({ALICE}), at)
    assert await outbox.unapplied() == []
    [done] = await outbox.forgotten(frozenset({ALICE}), at)
    assert done.applied
