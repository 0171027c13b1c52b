"""QueueWorker: runs post-turn jobs from the shared queue, in whichever process has the worker role.

Up to `settings.worker_jobs` jobs at a time, each a named task owned here. A job is leased, run
(dropped unrun when all its owners forgot everything since its turn; a forget that came while it
ran is applied again after), then acknowledged. Its lease is renewed every third of the lease
while it runs, so a slow learning call is not taken by another worker; a worker that dies stops
renewing and its jobs go to another worker one lease later. An entry finished here is never run
here again, even when a lease call that crossed its acknowledgement hands it back.

Failures, like the in-process outbox (`persona.outbox`): a few quick retries with backoff, then
- kept for a later try (one lease later, by any worker) when a store is unreachable, never
  dead-lettered for that; the same a few times when the provider is briefly unavailable;
- dead-lettered otherwise, with the error (`familiar doctor` counts them).
`close()` stops leasing, gives running jobs the drain timeout, then cancels them: they stay leased
in the queue and are taken again after their lease.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable

from memory.base import Outbox, OutboxJob, Tombstone
from memory.queue import JobLeases, LeasedJob
from persona.outbox import provider_unavailable, store_unreachable
from persona.settings import JobSettings
from persona.tasks import stop

_log = logging.getLogger(__name__)

Execute = Callable[[OutboxJob], Awaitable[None]]
ForgetAgain = Callable[[Tombstone], Awaitable[None]]
_POLL_S = 1.0  # how long one lease call waits for a new job
_OUTAGE_BACKOFF_S = 2.0
_FINISHED_KEPT = 1024  # far more than one lease call can hand back


class QueueWorker:
    def __init__(
        self,
        *,
        leases: JobLeases,
        tombstones: Outbox,
        execute: Execute,
        forget_again: ForgetAgain,
        settings: JobSettings,
        name: str,
        lease_s: float,
    ) -> None:
        self._leases = leases
        self._tombstones = tombstones
        self._execute = execute
        self._forget_again = forget_again
        self._settings = settings
        self._name = name
        self._lease_s = lease_s
        self._running: dict[str, asyncio.Task[None]] = {}  # by queue entry
        # Entries finished here lately: a lease call that was in flight when one was acknowledged
        # can still hand it back, and running it again would learn the same turn twice.
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._slot_free = asyncio.Event()
        self._stopping = False
        self._renewing = True
        self._tasks: list[asyncio.Task[None]] = []
        self.stats: Counter[str] = Counter()

    async def start(self) -> None:
        if self._tasks:
            return
        await self._finish_forgets()
        self._tasks = [
            asyncio.create_task(self._lease_loop(), name=f"queue-lease-{self._name}"),
            asyncio.create_task(self._renew_loop(), name=f"queue-renew-{self._name}"),
        ]

    async def close(self, drain_timeout_s: float) -> None:
        if not self._tasks:
            return
        lease_loop, renew_loop = self._tasks
        # No new job from here on. The loop stops by itself after its current lease call (at
        # most one poll): cancelling a blocked XREADGROUP can leave its connection hanging.
        self._stopping = True
        self._slot_free.set()
        _, late = await asyncio.wait([lease_loop], timeout=_POLL_S + 5.0)
        for task in late:
            await stop(task)
        running = set(self._running.values())
        if running:
            _, unfinished = await asyncio.wait(running, timeout=drain_timeout_s)
            for task in unfinished:
                await stop(task)
            if unfinished:
                _log.info("%d post-turn jobs stay leased in the queue for another worker", len(unfinished))
        self._renewing = False
        await stop(renew_loop)
        self._tasks.clear()

    async def idle(self) -> None:
        """Wait until no job runs here (tests, bench)."""
        while self._running:
            await asyncio.wait(set(self._running.values()))

    async def _finish_forgets(self) -> None:
        """A forget a kill interrupted is done now, before any job of this worker writes."""
        for tombstone in await self._tombstones.unapplied():
            try:
                await self._forget_again(tombstone)
            except Exception:  # a store is down: the tombstone stays unapplied for the next start
                _log.exception("could not finish an interrupted forget; trying again at the next start")
                continue
            await self._tombstones.mark_applied(frozenset({tombstone.owner}), tombstone.at)

    # ---- leasing

    async def _lease_loop(self) -> None:
        while not self._stopping:
            free = self._settings.worker_jobs - len(self._running)
            if free <= 0:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            try:
                leased = await self._leases.lease(self._name, free, block_s=_POLL_S)
            except Exception:  # Redis is away: keep trying, slowly, without a storm
                self.stats["queue.lease_error"] += 1
                _log.warning("could not lease post-turn jobs; retrying", exc_info=True)
                await asyncio.sleep(_OUTAGE_BACKOFF_S)
                continue
            if not self._accepting():
                return  # leased during the stop: they go to another worker after the lease
            for job in leased:
                self._spawn(job)

    def _accepting(self) -> bool:
        """Not stopping (read afresh: `close()` may have run while a lease call waited)."""
        return not self._stopping

    def _spawn(self, leased: LeasedJob) -> None:
        if leased.entry in self._running or leased.entry in self._finished:
            return  # our own lease lapsed while it ran, or just before we acknowledged it
        task = asyncio.create_task(self._run(leased), name=f"queue-job-{leased.job.key}")
        self._running[leased.entry] = task

        def finished(_: asyncio.Task[None]) -> None:
            self._running.pop(leased.entry, None)
            self._slot_free.set()

        task.add_done_callback(finished)

    async def _renew_loop(self) -> None:
        # Asked to stop, besides cancelled: a cancellation can come back from a Redis command as
        # the client's error, which the handler below takes for an outage (`persona.tasks`).
        while self._renewing:
            await asyncio.sleep(self._lease_s / 3)
            try:
                await self._leases.renew(self._name, list(self._running))
            except Exception:  # the jobs may go to another worker: they are idempotent
                _log.warning("could not renew post-turn job leases", exc_info=True)

    # ---- running

    async def _run(self, leased: LeasedJob) -> None:
        settings = self._settings
        for attempt in range(settings.retries + 1):
            try:
                await self._once(leased.job)
                await self._leases.ack(leased)
                self._remember_finished(leased.entry)
            except Exception as exc:  # a job's failure must not end the worker: retried, then recorded
                if attempt == settings.retries:
                    await self._failed(leased, exc)
                    return
                self.stats["retried"] += 1
                _log.warning("job %s failed, retrying", leased.job.key, exc_info=True)
                await asyncio.sleep(min(settings.backoff_max_s, settings.backoff_base_s * 2**attempt))
            else:
                self.stats["succeeded"] += 1
                return

    def _remember_finished(self, entry: str) -> None:
        self._finished[entry] = None
        while len(self._finished) > _FINISHED_KEPT:
            self._finished.popitem(last=False)

    async def _once(self, job: OutboxJob) -> None:
        forgotten = await self._tombstones.forgotten(job.owners, job.origin_ts)
        gone = {t.owner for t in forgotten if t.phrase is None}
        if job.owners and job.owners <= gone:
            self.stats["dropped_forgotten"] += 1
            return
        await self._execute(job)
        for tombstone in await self._tombstones.forgotten(job.owners, job.origin_ts):
            await self._forget_again(tombstone)

    async def _failed(self, leased: LeasedJob, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"
        transient = provider_unavailable(exc) and leased.failures < self._settings.transient_postpones
        try:
            if store_unreachable(exc) or transient:
                failures = await self._leases.retry_later(leased, error)
                self.stats["postponed"] += 1
                _log.warning(
                    "post-turn job %s failed %d times, retried later: %s", leased.job.key, failures, error
                )
                return
            await self._leases.bury(leased, error)
            self._remember_finished(leased.entry)
            self.stats["dead_letters"] += 1
        except Exception:  # the queue itself is away: the job stays leased and comes back
            _log.exception("could not record the failure of job %s", leased.job.key)
