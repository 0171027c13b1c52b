"""A supervised, bounded background queue for post-turn work.

Jobs are keyed by an idempotency key: a key that is queued, running or already succeeded is not
accepted again, so a re-submitted turn never stores or learns twice in this process (across
restarts, the jobs themselves are idempotent by key). Failed jobs are retried with exponential
backoff a few times, then logged, counted and handed to `on_failure` (the outbox postpones or
dead-letters them). `drain()` waits for queued work; `close()` drains with a timeout and then
cancels the named worker tasks: what they did not finish stays in the outbox for the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from persona.tasks import stop

_log = logging.getLogger(__name__)

JobFn = Callable[[], Awaitable[None]]
FailureFn = Callable[["Job", Exception], Awaitable[None]]
_DONE_KEYS_KEPT = 50_000  # remembered succeeded keys; oldest forgotten first


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    key: str
    name: str
    run: JobFn


class JobQueue:
    def __init__(
        self,
        *,
        workers: int = 2,
        max_pending: int = 1000,
        retries: int = 3,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 10.0,
        name: str = "jobs",
        on_failure: FailureFn | None = None,
    ) -> None:
        self._worker_count = workers
        self._retries = retries
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._name = name
        self._on_failure = on_failure
        self._queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=max_pending)
        self._active: set[str] = set()  # queued or running
        self._done: OrderedDict[str, None] = OrderedDict()
        self._workers: list[asyncio.Task[None]] = []
        self._closed = False
        self.stats: Counter[str] = Counter()

    def start(self) -> None:
        if self._workers or self._closed:
            return
        for index in range(self._worker_count):
            task = asyncio.create_task(self._work(), name=f"{self._name}-worker-{index}")
            self._workers.append(task)

    async def submit(self, key: str, name: str, run: JobFn) -> bool:
        """Queue a job (waits while the queue is full). False when the key is active, done or closed."""
        if self._closed or key in self._active or key in self._done:
            self.stats["skipped"] += 1
            return False
        self._active.add(key)
        await self._queue.put(Job(key=key, name=name, run=run))
        self.stats["submitted"] += 1
        return True

    @property
    def pending(self) -> int:
        return len(self._active)

    @property
    def has_room(self) -> bool:
        """A submit now would not wait for the queue."""
        return not self._queue.full()

    def holds(self, key: str) -> bool:
        """The key is queued or running."""
        return key in self._active

    async def drain(self, timeout_s: float | None = None) -> bool:
        """Wait until every queued job has finished; False if the timeout came first."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._queue.join()
        except TimeoutError:
            return False
        return True

    async def close(self, drain_timeout_s: float = 15.0) -> None:
        if self._closed:
            return
        self._closed = True  # refuse new work before draining, so drain can finish
        if self._workers and not await self.drain(drain_timeout_s):
            _log.warning("%s: %d jobs unfinished at shutdown, cancelling", self._name, self.pending)
        for task in self._workers:
            await stop(task)  # a cancellation lost inside a job is given again (persona.tasks)
        self._workers.clear()

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._run_with_retries(job)
            finally:
                self._active.discard(job.key)
                self._queue.task_done()

    async def _run_with_retries(self, job: Job) -> None:
        for attempt in range(self._retries + 1):
            try:
                await job.run()
            except Exception as exc:  # a job's failure must not kill its worker; retried, then counted
                if attempt == self._retries:
                    self.stats["failed"] += 1
                    _log.exception("job %s (%s) failed after %d attempts", job.name, job.key, attempt + 1)
                    await self._failed(job, exc)
                    return
                self.stats["retried"] += 1
                _log.warning("job %s (%s) failed, retrying", job.name, job.key, exc_info=True)
                await asyncio.sleep(min(self._backoff_max_s, self._backoff_base_s * 2**attempt))
            else:
                self.stats["succeeded"] += 1
                self._remember_done(job.key)
                return

    async def _failed(self, job: Job, exc: Exception) -> None:
        if self._on_failure is None:
            return
        try:
            await self._on_failure(job, exc)
        except Exception:  # the failure handler's own store may be down: the job stays recorded
            _log.exception("could not record the failure of job %s", job.key)

    def _remember_done(self, key: str) -> None:
        self._done[key] = None
        if len(self._done) > _DONE_KEYS_KEPT:
            self._done.popitem(last=False)
