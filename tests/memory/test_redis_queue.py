"""RedisJobQueue on a real redis-server: recorded with the turn's history, queued once per key,
leased to one worker, taken by another when the first dies, retries and dead letters visible to
anyone who asks the queue, a forget drops the person's waiting jobs."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from memory.queue import LeasedJob
from memory.redis.history import RedisHistoryStore
from memory.redis.queue import RedisJobQueue
from memory.sqlite.db import Database
from memory.sqlite.outbox import SqliteOutbox
from tests.memory.test_outbox_store import ALICE, BOB, job, said, turn

pytestmark = pytest.mark.redis

LEASE_S = 0.3


async def _queue(db: Database, client: Redis) -> tuple[RedisHistoryStore, RedisJobQueue]:
    history = RedisHistoryStore(client)
    tombstones = SqliteOutbox(db, history=history)
    await tombstones.start()
    queue = RedisJobQueue(client, history=history, tombstones=tombstones, lease_s=LEASE_S)
    await queue.start()
    await queue.start()  # a second process starting the same group is fine
    return history, queue


async def _keys(queue: RedisJobQueue, consumer: str, count: int = 10) -> list[str]:
    return [leased.job.key for leased in await queue.lease(consumer, count, block_s=0.01)]


async def test_a_turn_is_recorded_with_its_history_and_each_job_queued_once(
    db: Database, redis_client: Redis
) -> None:
    history, queue = await _queue(db, redis_client)
    await queue.commit([turn("e1", "my bike is green")], [job("memory:e1"), job("hook:facts:e1")])
    await queue.commit([], [job("memory:e1")])  # the same job recorded again (a re-committed turn)

    assert await said(history) == ["my bike is green"]
    assert [j.key for j in await queue.pending()] == ["memory:e1", "hook:facts:e1"]
    stats = await queue.stats()
    assert (stats.depth, stats.leased, stats.dead_letters) == (2, 0, 0)
    assert stats.oldest_age_s is not None


async def test_a_leased_job_is_not_handed_out_twice_until_its_lease_lapses(
    db: Database, redis_client: Redis
) -> None:
    _, queue = await _queue(db, redis_client)
    await queue.commit([], [job("memory:e1")])

    assert await _keys(queue, "worker-a") == ["memory:e1"]
    assert await _keys(queue, "worker-b") == []  # worker-a holds it
    await asyncio.sleep(LEASE_S * 1.5)  # worker-a died: it stopped renewing
    [taken] = await queue.lease("worker-b", 10, block_s=0.01)
    assert taken.job.key == "memory:e1"
    await queue.ack(taken)
    assert (await queue.stats()).depth == 0
    await asyncio.sleep(LEASE_S * 1.5)
    assert await _keys(queue, "worker-a") == []  # done: never handed out again


async def test_a_worker_that_renews_keeps_its_job(db: Database, redis_client: Redis) -> None:
    _, queue = await _queue(db, redis_client)
    await queue.commit([], [job("hook:facts:e1")])
    [held] = await queue.lease("worker-a", 10, block_s=0.01)
    for _ in range(4):
        await asyncio.sleep(LEASE_S / 2)
        await queue.renew("worker-a", [held.entry])
        assert await _keys(queue, "worker-b") == []


async def test_failures_are_counted_with_their_error_then_dead_lettered(
    db: Database, redis_client: Redis
) -> None:
    _, queue = await _queue(db, redis_client)
    await queue.commit([], [job("hook:facts:e1")])
    [leased] = await queue.lease("worker-a", 10, block_s=0.01)
    assert await queue.retry_later(leased, "ProviderError: 503") == 1
    assert await queue.last_error("hook:facts:e1") == "ProviderError: 503"
    assert (await queue.stats()).retrying == 1

    await asyncio.sleep(LEASE_S * 1.5)  # retried one lease later, by whichever worker comes first
    [again] = await queue.lease("worker-b", 10, block_s=0.01)
    assert again.failures == 1
    await queue.bury(again, "ValueError: the model answered nonsense")

    stats = await queue.stats()
    assert (stats.depth, stats.retrying, stats.dead_letters) == (0, 0, 1)
    [letter] = await queue.dead_letters()
    assert (letter.key, letter.attempts, letter.owners) == ("hook:facts:e1", 2, frozenset({ALICE}))
    assert "nonsense" in letter.error


async def test_forgetting_everything_drops_the_persons_waiting_jobs_and_dead_letters(
    db: Database, redis_client: Redis
) -> None:
    _, queue = await _queue(db, redis_client)
    both = frozenset({ALICE, BOB})
    await queue.commit([], [job("memory:a", owners=frozenset({ALICE})), job("memory:ab", owners=both)])
    await queue.commit([], [job("memory:waiting")])
    [first, *_] = await queue.lease("worker-a", 1, block_s=0.01)
    await queue.bury(LeasedJob(entry=first.entry, job=first.job), "ValueError: bad")

    # memory:waiting was waiting (dropped, counted); memory:a had been dead-lettered (dropped too)
    assert await queue.forget(frozenset({ALICE}), None, at=1.0) == 1
    assert [j.key for j in await queue.pending()] == ["memory:ab"]  # Bob's words stay
    assert await queue.dead_letters() == []
    assert [t.owner for t in await queue.forgotten(frozenset({ALICE}), since=0.0)] == [ALICE]
