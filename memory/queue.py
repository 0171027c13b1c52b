"""The shared post-turn queue's interface: jobs leased to workers, acknowledged when done.

Implemented on Redis Streams (`memory.redis.queue`); the engine's process records jobs through
the `Outbox` side of the same store, and `persona.queue_worker` runs them in any process.
At-least-once: a job is leased to one worker at a time and stays leased until `ack`; a worker
that dies stops renewing, and after the lease another worker claims it. Jobs are idempotent by
key, so running one twice (a worker killed after its writes, before its ack) is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from memory.base import OutboxJob


@dataclass(frozen=True, slots=True, kw_only=True)
class LeasedJob:
    """A job a worker holds: `entry` names it in the queue; `failures` counts earlier tries."""

    entry: str
    job: OutboxJob
    failures: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueStats:
    """What `familiar doctor` shows: how much is waiting, for how long, and what gave up."""

    depth: int  # recorded and not yet done (waiting or leased)
    leased: int  # handed to a worker, not yet acknowledged
    oldest_age_s: float | None  # of the oldest job not done; None when empty
    retrying: int  # jobs that failed at least once and wait for another try
    dead_letters: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleBeat:
    """One live process of a role, as its heartbeat says."""

    role: str
    name: str
    detail: str
    age_s: float


class JobLeases(Protocol):
    """The worker's side of the shared queue."""

    async def lease(self, consumer: str, count: int, block_s: float) -> list[LeasedJob]:
        """Up to `count` jobs: first those whose lease lapsed (a dead worker's, or due for a
        retry), then new ones, waiting at most `block_s` for one to arrive."""
        ...

    async def renew(self, consumer: str, entries: Sequence[str]) -> None:
        """Extend the lease of jobs still running (so no other worker takes them meanwhile)."""
        ...

    async def ack(self, leased: LeasedJob) -> None:
        """Done: the job leaves the queue."""
        ...

    async def retry_later(self, leased: LeasedJob, error: str) -> int:
        """Failed this time: counted and kept, with its error; taken again once its lease
        lapses. Returns the failures so far."""
        ...

    async def bury(self, leased: LeasedJob, error: str) -> None:
        """Failed for good: moved to the dead letters with its error."""
        ...

    async def stats(self) -> QueueStats: ...


class LeaderLease(Protocol):
    """One holder at a time across processes (the journal's writer)."""

    async def hold(self) -> bool:
        """Take the lease or renew ours; False while another process holds it."""
        ...

    async def release(self) -> None: ...
