"""Post-turn work run from the outbox: durable, resumed at start, idempotent by key, forget-aware.

`commit` records a turn's history and its jobs in one go (see `memory.base.Outbox`) and hands
the jobs to the in-process `JobQueue`; the engine reports the turn delivered only afterwards.
A job is deleted from the outbox when it has run, so whatever a kill or a stop cut short is
found by `start()` next time and run again (every job is idempotent by its key).

A job that fails after the queue's own retries is
- postponed with backoff when a store is unreachable (connection refused, reset, timed out):
  the work is fine, the store will come back; it is never dead-lettered for that;
- postponed a few times when the provider is briefly unavailable (429, 5xx), then dead-lettered;
- dead-lettered otherwise: kept with its error (`familiar doctor` lists them), not retried forever.

Forgetting: before a job runs, one whose owners have all forgotten everything since its turn
began is dropped; after it ran (and after each commit), any forget that came meanwhile is applied
again, so work that was already under way cannot bring back what the forget removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from memory.base import Outbox, OutboxJob, Tombstone
from memory.records import Turn
from persona.jobs import Job, JobQueue
from persona.providers.base import ProviderError
from persona.settings import JobSettings
from persona.tasks import stop

_log = logging.getLogger(__name__)

Execute = Callable[[OutboxJob], Awaitable[None]]
ForgetAgain = Callable[[Tombstone], Awaitable[None]]


def store_unreachable(exc: BaseException) -> bool:
    """A store that is down (refused, reset, timed out), anywhere in the exception's chain.

    Store clients name their own connection errors (redis's `ConnectionError` is not the
    builtin one), so a class named like one counts too.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) or type(current).__name__.endswith(
            ("ConnectionError", "TimeoutError")
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def provider_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, ProviderError) and exc.kind.retryable


class PostTurnWork:
    def __init__(
        self,
        *,
        outbox: Outbox,
        queue: JobQueue,
        execute: Execute,
        forget_again: ForgetAgain,
        settings: JobSettings,
        clock: Callable[[], float] = time.time,
        run_here: bool = True,
    ) -> None:
        # False when a shared queue's workers run the jobs (`persona.queue_worker`): this
        # process only records them.
        self._run_here = run_here
        self._outbox = outbox
        self._queue = queue
        self._execute = execute
        self._forget_again = forget_again
        self._settings = settings
        self._clock = clock
        self._jobs: dict[str, OutboxJob] = {}  # held here: queued, running or waiting to retry
        self._later: list[tuple[float, int, str]] = []  # (due, tie, key) of postponed jobs
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._backlog = asyncio.Event()  # the outbox holds jobs the queue had no room for
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self.stats = queue.stats

    # ---- lifecycle

    async def start(self) -> None:
        """Resume what the outbox holds: queued now as far as the queue has room, the rest fed
        in the background as it drains."""
        if self._tasks or self._closed or not self._run_here:
            return
        await self._finish_forgets()
        try:
            for job in await self._outbox.pending():
                await self._hand_over(job, wait=False)
        except Exception:  # the primary store is down at start: the feeder keeps trying
            _log.exception("could not read the outbox at start; retrying in the background")
            self._backlog.set()
        self._tasks = [
            asyncio.create_task(self._feed(), name="outbox-feed"),
            asyncio.create_task(self._retry_later(), name="outbox-retry"),
        ]

    async def close(self, drain_timeout_s: float) -> None:
        """Drain what is queued within the timeout; the rest stays recorded in the outbox."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            await stop(task)
        self._tasks.clear()
        await self._queue.close(drain_timeout_s=drain_timeout_s)
        left = len(self._jobs)
        if left:
            _log.info("%d post-turn jobs stay in the outbox for the next start", left)

    async def _finish_forgets(self) -> None:
        """A forget a kill interrupted is done now, before any resumed job could write."""
        for tombstone in await self._outbox.unapplied():
            try:
                await self._forget_again(tombstone)
            except Exception:  # a store is down: the tombstone stays unapplied for the next start
                _log.exception("could not finish an interrupted forget; trying again at the next start")
                continue
            await self._outbox.mark_applied(frozenset({tombstone.owner}), tombstone.at)
            self.stats["outbox.forget_finished"] += 1

    # ---- recording

    async def commit(self, turns: Sequence[Turn], jobs: Sequence[OutboxJob]) -> None:
        """History and jobs, durable together; then the jobs are queued (never waiting for room)."""
        await self._outbox.commit(turns, jobs)
        self.stats["outbox.committed"] += len(jobs)
        for job in jobs if self._run_here else ():
            await self._hand_over(job, wait=False)

    async def recheck(self, owners: frozenset[str], since: float) -> None:
        """Apply again every forget of `owners` recorded since `since` (a turn was in flight)."""
        for tombstone in await self._outbox.forgotten(owners, since):
            self.stats["outbox.forget_reapplied"] += 1
            await self._forget_again(tombstone)

    # ---- running

    async def _hand_over(self, job: OutboxJob, *, wait: bool) -> None:
        if self._closed:
            return
        if job.due_ts > self._clock():
            self._jobs[job.key] = job
            heapq.heappush(self._later, (job.due_ts, next(self._order), job.key))
            self._wake.set()
            return
        if not wait and not self._queue.has_room:
            self._backlog.set()  # the feeder takes it from the outbox when there is room
            return
        self._jobs[job.key] = job
        await self._queue.submit(job.key, job.kind, lambda: self._run(job))

    async def _run(self, job: OutboxJob) -> None:
        if await self._all_forgotten(job):
            self.stats["outbox.dropped_forgotten"] += 1
        else:
            await self._execute(job)
            await self.recheck(job.owners, job.origin_ts)
        await self._outbox.done(job.key)
        self._jobs.pop(job.key, None)

    async def _all_forgotten(self, job: OutboxJob) -> bool:
        gone = {t.owner for t in await self._outbox.forgotten(job.owners, job.origin_ts) if t.phrase is None}
        return bool(job.owners) and job.owners <= gone

    async def on_failure(self, failed: Job, exc: Exception) -> None:
        """The queue gave up on a job: postpone it (a store or provider is down) or dead-letter it."""
        job = self._jobs.get(failed.key)
        if job is None:
            return
        settings = self._settings
        error = f"{type(exc).__name__}: {exc}"
        transient = provider_unavailable(exc) and job.attempts < settings.transient_postpones
        if store_unreachable(exc) or transient:
            delay = min(settings.postpone_max_s, settings.postpone_base_s * 2**job.attempts)
            due = self._clock() + delay
            attempts = await self._outbox.postpone(job.key, due_ts=due, error=error)
            self.stats["outbox.postponed"] += 1
            _log.warning("post-turn job %s postponed %.0f s: %s", job.key, delay, error)
            self._jobs.pop(job.key, None)
            await self._hand_over(_retried(job, attempts, due), wait=False)
            return
        await self._outbox.dead_letter(job.key, error)
        self.stats["outbox.dead_letters"] += 1
        self._jobs.pop(job.key, None)

    # ---- background tasks

    async def _feed(self) -> None:
        """Whenever the outbox holds jobs not handed over (start-up, a full queue), hand them over."""
        while not self._closed:  # besides the cancellation: see `persona.tasks`
            await self._backlog.wait()
            self._backlog.clear()
            try:
                pending = await self._outbox.pending()
            except Exception:  # the primary store is down: try again shortly
                _log.exception("could not read the outbox; retrying")
                await asyncio.sleep(self._settings.postpone_base_s)
                self._backlog.set()
                continue
            for job in pending:
                if job.key not in self._jobs:
                    await self._hand_over(job, wait=True)

    async def _retry_later(self) -> None:
        while True:
            if not self._later:
                await self._wake.wait()
                self._wake.clear()
                continue
            due, _, key = self._later[0]
            delay = due - self._clock()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
                self._wake.clear()
                continue
            heapq.heappop(self._later)
            job = self._jobs.pop(key, None)
            if job is not None:
                await self._hand_over(_retried(job, job.attempts, 0.0), wait=True)


def _retried(job: OutboxJob, attempts: int, due_ts: float) -> OutboxJob:
    return OutboxJob(
        key=job.key,
        kind=job.kind,
        payload=job.payload,
        owners=job.owners,
        origin_ts=job.origin_ts,
        attempts=attempts,
        due_ts=due_ts,
    )
