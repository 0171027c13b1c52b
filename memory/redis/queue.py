"""RedisJobQueue: the post-turn queue on a Redis Stream with one consumer group, shared by processes.

Keys (prefix "familiar:queue:"):
    jobs      the stream: one entry per job not yet done (acknowledged entries are deleted, so
              XLEN is the depth and the first entry the oldest job)
    ids       hash, job key -> entry id: a job recorded twice (a re-committed turn) is queued once
    failures  hash, job key -> failed tries so far; errors: job key -> the last error (retries
              are visible to `familiar doctor`, not only in one process's log)
    dead      list of JSON dead letters (newest first), each with its error and payload

At-least-once: XREADGROUP leases a new entry to one worker; the entry stays in the group's
pending list until XACK. A worker renews the leases of the jobs it runs (XCLAIM JUSTID resets
their idle time); one that dies stops renewing, and XAUTOCLAIM hands its jobs to another
worker once they were idle for a lease. A failed job is left pending the same way, so it is
retried one lease later by whichever worker comes first. Jobs are idempotent by key.

The same object is the engine's `Outbox` (commit records history, then the jobs; forgets drop
queued jobs and dead letters) and the workers' `JobLeases`. Forget tombstones stay in the
relational store (`tombstones`), which every process shares and which keeps them transactional.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from memory.base import DeadLetter, HistoryStore, Outbox, OutboxJob, Tombstone
from memory.queue import LeasedJob, QueueStats
from memory.records import Turn
from memory.redis.history import RedisHistoryStore
from memory.redis.keys import DEFAULT_PREFIX, KeySpace, millis, text

_log = logging.getLogger(__name__)

GROUP = "workers"
DEFAULT_LEASE_S = 30.0
_DEAD_KEPT = 10_000
_SCAN_BATCH = 500
# Queue a job only if its key is not queued yet; the id is remembered in the same step.
_ENQUEUE = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
redis.call('HSET', KEYS[2], ARGV[1], id)
return 1
"""


def _fields(job: OutboxJob) -> list[str]:
    values = {
        "key": job.key,
        "kind": job.kind,
        "payload": job.payload,
        "owners": json.dumps(sorted(job.owners)),
        "origin_ts": repr(job.origin_ts),
    }
    return [part for pair in values.items() for part in pair]


Entry = tuple[str, dict[str, str]]  # (entry id, fields)


def _entries(raw: Any) -> list[Entry]:
    """Stream entries as redis-py returns them (bytes or str); deleted ones (no fields) left out."""
    return [
        (text(entry), {text(k): text(v) for k, v in fields.items()}) for entry, fields in raw or [] if fields
    ]


def _job(got: dict[str, str]) -> OutboxJob:
    return OutboxJob(
        key=got["key"],
        kind=got["kind"],
        payload=got["payload"],
        owners=frozenset(json.loads(got["owners"])),
        origin_ts=float(got["origin_ts"]),
    )


def _entry_ms(entry: str) -> int:
    return int(entry.split("-", 1)[0])


class RedisJobQueue:
    """`Outbox` for the engine and `JobLeases` for workers, on one Redis stream."""

    def __init__(
        self,
        client: Redis,
        *,
        history: HistoryStore,
        tombstones: Outbox,
        lease_s: float = DEFAULT_LEASE_S,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self._client = client
        self._history = history
        self._tombstones = tombstones
        self.lease_s = lease_s
        key = KeySpace(prefix, "queue")
        self._stream, self._ids = key("jobs"), key("ids")
        self._failures, self._errors, self._dead = key("failures"), key("errors"), key("dead")
        self._enqueue = client.register_script(_ENQUEUE)

    async def start(self) -> None:
        try:  # from the stream's start: jobs recorded before any worker existed are included
            await self._client.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def close(self) -> None:
        """Nothing to release: the client belongs to the composition root."""

    # ---- Outbox: what the engine records

    async def commit(self, turns: Sequence[Turn], jobs: Sequence[OutboxJob]) -> None:
        history = self._history
        if isinstance(history, RedisHistoryStore) and history.shares(self._client):
            await self._commit_at_once(history, turns, jobs)
            return
        if turns:
            await self._history.append(turns)  # raises when history refuses: nothing queued
        for job in jobs:
            await self._enqueue(keys=[self._stream, self._ids], args=[job.key, *_fields(job)])

    async def _commit_at_once(
        self, history: RedisHistoryStore, turns: Sequence[Turn], jobs: Sequence[OutboxJob]
    ) -> None:
        """History and jobs in one MULTI/EXEC: one round trip instead of one per turn and job, and
        all or nothing if the connection drops (a job is never queued without its history, nor the
        reverse). A refusal raises after EXEC; the engine then queues the history as a job, and
        the jobs already queued are not queued twice (the enqueue is idempotent by key)."""
        async with self._client.pipeline(transaction=True) as pipe:
            history.append_in(pipe, turns)
            for job in jobs:
                pipe.eval(_ENQUEUE, 2, self._stream, self._ids, job.key, *_fields(job))
            await pipe.execute()

    async def pending(self) -> list[OutboxJob]:
        return [_job(fields) for _, fields in _entries(await self._client.xrange(self._stream))]

    async def done(self, key: str) -> None:
        entry = await self._entry_of(key)
        if entry is not None:
            await self._finish(entry, key)

    async def postpone(self, key: str, *, due_ts: float, error: str) -> int:
        return await self._count_failure(key, error)

    async def dead_letter(self, key: str, error: str) -> None:
        entry = await self._entry_of(key)
        if entry is None:
            return
        found = _entries(await self._client.xrange(self._stream, min=entry, max=entry))
        if found:
            await self.bury(LeasedJob(entry=entry, job=_job(found[0][1])), error)

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        raw = await self._client.lrange(self._dead, 0, max(limit, 1) - 1)
        letters = [json.loads(text(item)) for item in raw]
        return [
            DeadLetter(
                key=d["key"],
                kind=d["kind"],
                error=d["error"],
                attempts=int(d["attempts"]),
                failed_at=datetime.fromtimestamp(float(d["failed_ts"]), UTC),
                owners=frozenset(d["owners"]),
            )
            for d in letters
        ]

    async def forget(self, owners: frozenset[str], phrase: str | None, at: float) -> int:
        dropped = await self._tombstones.forget(owners, phrase, at)
        if phrase is None and owners:
            dropped += await self._drop_queued(owners)
            await self._drop_dead(owners)
        return dropped

    async def forgotten(self, owners: frozenset[str], since: float) -> list[Tombstone]:
        return await self._tombstones.forgotten(owners, since)

    async def mark_applied(self, owners: frozenset[str], at: float) -> None:
        await self._tombstones.mark_applied(owners, at)

    async def unapplied(self) -> list[Tombstone]:
        return await self._tombstones.unapplied()

    # ---- JobLeases: what workers do

    async def lease(self, consumer: str, count: int, block_s: float) -> list[LeasedJob]:
        claimed: Any = await self._client.xautoclaim(
            self._stream, GROUP, consumer, min_idle_time=millis(self.lease_s), count=count
        )
        leased = _entries(claimed[1])
        if len(leased) < count:
            # Jobs just reclaimed are ours but not yet renewed: waiting for new ones now could let
            # their lease lapse again before the worker starts them, so then only look.
            block = None if leased else millis(block_s)
            fresh: Any = await self._client.xreadgroup(
                GROUP, consumer, {self._stream: ">"}, count=count - len(leased), block=block
            )
            for _, entries in fresh or []:
                leased.extend(_entries(entries))
        return [await self._leased(entry, fields) for entry, fields in leased]

    async def renew(self, consumer: str, entries: Sequence[str]) -> None:
        if entries:
            await self._client.xclaim(self._stream, GROUP, consumer, 0, list(entries), justid=True)

    async def ack(self, leased: LeasedJob) -> None:
        await self._finish(leased.entry, leased.job.key)

    async def retry_later(self, leased: LeasedJob, error: str) -> int:
        return await self._count_failure(leased.job.key, error)

    async def bury(self, leased: LeasedJob, error: str) -> None:
        job = leased.job
        failures = int(await self._client.hget(self._failures, job.key) or 0)
        letter = {"key": job.key, "kind": job.kind, "owners": sorted(job.owners), "error": error[:2000],
                  "attempts": failures + 1, "failed_ts": time.time(), "payload": job.payload}  # fmt: skip
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.lpush(self._dead, json.dumps(letter))
            pipe.ltrim(self._dead, 0, _DEAD_KEPT - 1)
            await pipe.execute()
        await self._finish(leased.entry, job.key)
        _log.error("post-turn job %s moved to the dead letters: %s", job.key, error)

    async def stats(self) -> QueueStats:
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.xlen(self._stream)
            pipe.xpending(self._stream, GROUP)
            pipe.xrange(self._stream, count=1)
            pipe.hlen(self._failures)
            pipe.llen(self._dead)
            depth, pending, first, retrying, dead = await pipe.execute()
        oldest = time.time() - _entry_ms(text(first[0][0])) / 1000 if first else None
        return QueueStats(
            depth=int(depth),
            leased=int(pending["pending"]) if pending else 0,
            oldest_age_s=oldest,
            retrying=int(retrying),
            dead_letters=int(dead),
        )

    async def last_error(self, key: str) -> str | None:
        raw = await self._client.hget(self._errors, key)
        return None if raw is None else text(raw)

    # ---- internals

    async def _leased(self, entry: str, fields: dict[str, str]) -> LeasedJob:
        job = _job(fields)
        failures = int(await self._client.hget(self._failures, job.key) or 0)
        return LeasedJob(entry=entry, job=job, failures=failures)

    async def _entry_of(self, key: str) -> str | None:
        raw = await self._client.hget(self._ids, key)
        return None if raw is None else text(raw)

    async def _count_failure(self, key: str, error: str) -> int:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hincrby(self._failures, key, 1)
            pipe.hset(self._errors, key, error[:2000])
            count, _ = await pipe.execute()
        return int(count)

    async def _finish(self, entry: str, key: str) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, GROUP, entry)
            pipe.xdel(self._stream, entry)
            pipe.hdel(self._ids, key)
            pipe.hdel(self._failures, key)
            pipe.hdel(self._errors, key)
            await pipe.execute()

    async def _drop_queued(self, owners: frozenset[str]) -> int:
        dropped, start = 0, "-"
        while raw := await self._client.xrange(self._stream, min=start, count=_SCAN_BATCH):
            for entry, fields in _entries(raw):
                job = _job(fields)
                if job.owners and job.owners <= owners:
                    await self._finish(entry, job.key)
                    dropped += 1
            start = "(" + text(raw[-1][0] or "")
        return dropped

    async def _drop_dead(self, owners: frozenset[str]) -> None:
        for raw in await self._client.lrange(self._dead, 0, -1):
            if frozenset(json.loads(text(raw))["owners"]) <= owners:
                await self._client.lrem(self._dead, 0, text(raw))
