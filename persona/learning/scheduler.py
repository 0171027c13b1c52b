"""JournalScheduler: one supervised task that writes due journal entries and the daily reflection.

The task sleeps until the earliest deadline (a conversation's quiet gap, the end of its day, or
the reflection hour) or until new activity wakes it; no polling. `run_due()` does one round of
due work at the injected clock's time, so tests drive it explicitly without waiting.

`start()` first restores the conversations a previous run left pending (Journaler.restore),
so the first deadline already counts them: those whose quiet gap passed during the downtime
are written at once. `close()` lets a round under way finish (bounded), then stops the task.

Several processes (workers sharing Redis): each notes its own turns into the shared drafts, and
only the holder of the leader lease (`memory.queue.LeaderLease`) writes. The leader renews it
every `lease_renew_s` and then reads the drafts again, so conversations noted by another process
are written by it too; another process takes over within one lease of the leader dying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from memory.queue import LeaderLease
from persona.learning.journal import Journaler, Reflector
from persona.learning.settings import LearningSettings

_log = logging.getLogger(__name__)
_ERROR_BACKOFF_S = 60.0
_MAX_WAIT_S = 3600.0  # re-check at least hourly: wall-clock jumps (suspend, DST) are tolerated
# close() lets a round under way finish its writes (cancelling a file write mid-way leaks the
# file); after this, it is cancelled: its drafts stay in the store for the next start.
_CLOSE_GRACE_S = 10.0


class JournalScheduler:
    def __init__(
        self,
        *,
        journaler: Journaler,
        reflector: Reflector,
        settings: LearningSettings,
        clock: Callable[[], datetime],
        lease: LeaderLease | None = None,
        lease_renew_s: float = 5.0,
    ) -> None:
        self._lease = lease
        self._lease_renew_s = lease_renew_s
        self._journaler = journaler
        self._reflector = reflector
        self._settings = settings
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._reflected_on: date | None = None

    def poke(self) -> None:
        """New activity: recompute the next deadline."""
        self._wake.set()

    async def start(self) -> None:
        if self._task is not None:
            return
        await self._journaler.restore()
        self._stopping.clear()
        self._journaler.on_activity = self.poke
        self._task = asyncio.create_task(self._run(), name="journal-scheduler")

    async def close(self) -> None:
        task, self._task = self._task, None
        self._journaler.on_activity = lambda: None
        if task is None:
            return
        self._stopping.set()
        self._wake.set()
        try:
            await asyncio.wait_for(task, timeout=_CLOSE_GRACE_S)  # cancels it on timeout
        except TimeoutError:
            _log.warning("journal round still running after %ss: cancelled", _CLOSE_GRACE_S)
        if self._lease is not None:
            with contextlib.suppress(Exception):  # it lapses by itself when Redis is away
                await self._lease.release()

    async def run_due(self) -> int:
        """Write every entry and reflection due now; returns how many were written."""
        now = self._clock()
        written = await self._journaler.flush_due(now)
        today = self._local(now).date()
        if self._reflection_due(now):
            written += await self._reflector.reflect(today)
            self._reflected_on = today
        return written

    def next_deadline(self) -> datetime:
        candidates = [self._next_reflection(self._clock())]
        due = self._journaler.next_due()
        if due is not None:
            candidates.append(due)
        return min(candidates)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            if not await self._leading():
                await self._sleep(self._lease_renew_s)
                continue
            wait_s = (self.next_deadline() - self._clock()).total_seconds()
            if self._lease is not None:  # the leader renews its lease before it lapses
                wait_s = min(wait_s, self._lease_renew_s)
            await self._sleep(min(max(wait_s, 0.0), _MAX_WAIT_S))
            if self._stopping.is_set():
                return
            try:
                await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                # Supervision: one failed round must not end journaling for the process.
                _log.exception("journal round failed; retrying in %ss", _ERROR_BACKOFF_S)
                await self._sleep(_ERROR_BACKOFF_S)

    async def _leading(self) -> bool:
        """This process writes the journal (always, without a lease); as leader, the drafts other
        processes noted since the last round are scheduled here too."""
        if self._lease is None:
            return True
        try:
            if not await self._lease.hold():
                return False
            await self._journaler.restore()
        except Exception:  # Redis or the drafts store is away: write nothing until it is back
            _log.warning("journal leader lease unavailable", exc_info=True)
            return False
        return True

    async def _sleep(self, seconds: float) -> None:
        """Until `seconds` pass or activity wakes us, whichever comes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    def _local(self, at: datetime) -> datetime:
        return at.astimezone(self._settings.zone)

    def _reflection_time(self, day: date) -> datetime:
        return datetime.combine(day, time(hour=self._settings.reflection_hour), self._settings.zone)

    def _reflection_due(self, now: datetime) -> bool:
        today = self._local(now).date()
        return self._reflected_on != today and now >= self._reflection_time(today)

    def _next_reflection(self, now: datetime) -> datetime:
        today = self._local(now).date()
        if self._reflected_on == today:
            return self._reflection_time(today + timedelta(days=1))
        return max(now, self._reflection_time(today))
