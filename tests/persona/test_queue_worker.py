"""QueueWorker over the real Redis queue: jobs run once and leave the queue; a job that keeps
failing is dead-lettered with its error; one whose store is down waits and runs when it is back;
a worker that dies mid-job loses nothing (another takes the job after its lease); a person who
forgot everything is not learned about."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from memory.base import OutboxJob, Tombstone
from memory.queue import LeasedJob
from memory.redis.history import RedisHistoryStore
from memory.redis.queue import RedisJobQueue
from memory.sqlite.db import Database
from memory.sqlite.outbox import SqliteOutbox
from persona.queue_worker import QueueWorker
from persona.settings import JobSettings
from tests.memory.test_outbox_store import ALICE, job

pytestmark = pytest.mark.redis

LEASE_S = 0.4
SETTINGS = JobSettings(retries=1, backoff_base_s=0.0, worker_jobs=2)


class Runner:
    """What the jobs do: counts runs; a key may fail with a given error a number of times."""

    def __init__(self) -> None:
        self.ran: Counter[str] = Counter()
        self.failing: dict[str, tuple[Exception, int]] = {}
        self.hang: set[str] = set()

    async def execute(self, outbox_job: OutboxJob) -> None:
        if outbox_job.key in self.hang:
            await asyncio.Event().wait()
        error, times = self.failing.get(outbox_job.key, (None, 0))
        if error is not None and times > 0:
            self.failing[outbox_job.key] = (error, times - 1)
            raise error
        self.ran[outbox_job.key] += 1

    async def forget_again(self, tombstone: Tombstone) -> None:
        return None


async def _queue(db: Database, client: Redis) -> RedisJobQueue:
    history = RedisHistoryStore(client)
    tombstones = SqliteOutbox(db, history=history)
    await tombstones.start()
    queue = RedisJobQueue(client, history=history, tombstones=tombstones, lease_s=LEASE_S)
    await queue.start()
    return queue


def _worker(queue: RedisJobQueue, runner: Runner, name: str) -> QueueWorker:
    return QueueWorker(
        leases=queue, tombstones=queue, execute=runner.execute, forget_again=runner.forget_again,
        settings=SETTINGS, name=name, lease_s=LEASE_S,
    )  # fmt: skip


async def _until_empty(queue: RedisJobQueue, seconds: float = 15.0) -> None:
    async with asyncio.timeout(seconds):
        while (await queue.stats()).depth:  # noqa: ASYNC110 - the queue is in Redis: nothing to await
            await asyncio.sleep(0.02)


async def test_jobs_run_once_and_a_failing_one_is_dead_lettered_with_its_error(
    db: Database, redis_client: Redis
) -> None:
    queue, runner = await _queue(db, redis_client), Runner()
    runner.failing["hook:facts:bad"] = (ValueError("the model answered nonsense"), 99)
    worker = _worker(queue, runner, "w1")
    await worker.start()
    try:
        await queue.commit([], [job("memory:e1"), job("hook:facts:e1"), job("hook:facts:bad")])
        await _until_empty(queue)
    finally:
        await worker.close(drain_timeout_s=5)

    assert runner.ran == Counter({"memory:e1": 1, "hook:facts:e1": 1})
    [letter] = await queue.dead_letters()
    assert letter.key == "hook:facts:bad"
    assert "ValueError: the model answered nonsense" in letter.error


async def test_a_job_whose_store_is_down_waits_for_it_and_is_never_dead_lettered(
    db: Database, redis_client: Redis
) -> None:
    queue, runner = await _queue(db, redis_client), Runner()
    runner.failing["memory:e1"] = (ConnectionRefusedError("chroma is down"), 4)  # two leases' worth
    worker = _worker(queue, runner, "w1")
    await worker.start()
    try:
        await queue.commit([], [job("memory:e1")])
        await _until_empty(queue)
    finally:
        await worker.close(drain_timeout_s=5)
    assert runner.ran == Counter({"memory:e1": 1})
    assert await queue.dead_letters() == []
    assert worker.stats["postponed"] >= 1


async def test_a_dead_workers_job_is_taken_by_another_after_its_lease(
    db: Database, redis_client: Redis
) -> None:
    queue, runner = await _queue(db, redis_client), Runner()
    runner.hang.add("hook:facts:e1")
    doomed = _worker(queue, runner, "doomed")
    await doomed.start()
    await queue.commit([], [job("hook:facts:e1")])
    async with asyncio.timeout(10):
        while (await queue.stats()).leased == 0:  # noqa: ASYNC110 - the queue is in Redis
            await asyncio.sleep(0.02)
    await doomed.close(drain_timeout_s=0)  # dies mid-job: the job is neither done nor acknowledged
    runner.hang.clear()

    survivor = _worker(queue, runner, "survivor")
    await survivor.start()
    try:
        await _until_empty(queue)
    finally:
        await survivor.close(drain_timeout_s=5)
    assert runner.ran == Counter({"hook:facts:e1": 1})


class StaleHandback:
    """The queue, where one lease call that read a job before its acknowledgement returns only
    after it: what a slow machine does when XAUTOCLAIM and XACK cross (seen once in CI)."""

    def __init__(self, queue: RedisJobQueue, runner: Runner) -> None:
        self.queue, self.runner = queue, runner
        self.handed: list[LeasedJob] = []
        self.replayed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.queue, name)

    async def lease(self, consumer: str, count: int, block_s: float) -> list[LeasedJob]:
        if self.handed and not self.replayed:
            async with asyncio.timeout(10):
                while not self.runner.ran or (await self.queue.stats()).leased:  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            self.replayed = True
            return self.handed
        leased = await self.queue.lease(consumer, count, block_s)
        self.handed = self.handed or leased
        return leased


async def test_a_job_handed_back_by_a_lease_that_crossed_its_acknowledgement_is_not_run_again(
    db: Database, redis_client: Redis
) -> None:
    queue, runner = await _queue(db, redis_client), Runner()
    stale = StaleHandback(queue, runner)
    worker = QueueWorker(
        leases=stale, tombstones=queue, execute=runner.execute, forget_again=runner.forget_again,
        settings=SETTINGS, name="w1", lease_s=LEASE_S,
    )  # fmt: skip
    await queue.commit([], [job("hook:facts:e1")])
    await worker.start()
    try:
        async with asyncio.timeout(10):
            while not stale.replayed:  # noqa: ASYNC110 - the handback is polled by the worker
                await asyncio.sleep(0.02)
        await worker.idle()
    finally:
        await worker.close(drain_timeout_s=5)
    assert runner.ran == Counter({"hook:facts:e1": 1})


class CancellationBecomesTimeout:
    """The queue, where a renewal that is cancelled comes back as the client's TimeoutError: what
    redis-py does on Python 3.11 when a cancellation crosses its own command timeout."""

    def __init__(self, queue: RedisJobQueue) -> None:
        self.queue = queue
        self.renewing = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.queue, name)

    async def renew(self, consumer: str, entries: Sequence[str]) -> None:
        self.renewing.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RedisTimeoutError("Timeout reading from socket") from None


async def test_a_worker_stops_even_when_a_cancelled_renewal_comes_back_as_a_redis_error(
    db: Database, redis_client: Redis
) -> None:
    queue = await _queue(db, redis_client)
    leases = CancellationBecomesTimeout(queue)
    worker = QueueWorker(
        leases=leases, tombstones=queue, execute=Runner().execute, forget_again=Runner().forget_again,
        settings=SETTINGS, name="w1", lease_s=LEASE_S,
    )  # fmt: skip
    await worker.start()
    async with asyncio.timeout(10):
        await leases.renewing.wait()
        await worker.close(drain_timeout_s=0)  # a shutdown that waited on the renewal forever hung


async def test_a_job_of_a_person_who_forgot_everything_is_not_run(db: Database, redis_client: Redis) -> None:
    queue, runner = await _queue(db, redis_client), Runner()
    await queue.commit([], [job("memory:e1", origin_ts=100.0)])
    await queue.forget(frozenset({ALICE}), None, at=200.0)  # drops the queued job
    await queue.commit([], [job("memory:e2", origin_ts=150.0)])  # a turn that was in flight
    worker = _worker(queue, runner, "w1")
    await worker.start()
    try:
        await _until_empty(queue)
    finally:
        await worker.close(drain_timeout_s=5)
    assert runner.ran == Counter()
    assert worker.stats["dropped_forgotten"] == 1
