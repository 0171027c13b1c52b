"""Delivers due reminders where they were set, once, also after a restart or downtime.

Each pass claims the due reminders in the store (one atomic row update, under a lease), posts
each through its platform's `Outbound` port, then marks it delivered. A crash between the post
and the mark sends it again once the lease runs out: at-least-once in a window one row update
wide, never lost. A reminder whose time passed while the bot was down is delivered late, with a
note saying so. A failed post (platform not connected) goes back to pending with capped backoff.

One named task runs the passes; it sleeps until the next due time (at most `poll_s`, since
another process may add reminders), woken early by `wake()`. The clock is injectable: tests move
it and call `wake()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from memory.assistant import Reminder, ReminderStore
from persona.outbound import DeliveryError, Outbound, OutboundMessage
from persona.reminders.zones import zone_info

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerSettings:
    poll_s: float = 30.0  # longest sleep: reminders added by another process are seen this soon
    lease_s: float = 120.0  # how long a claimed reminder is ours before another sender may take it
    late_after_s: float = 120.0  # delivered later than this past its time: say so
    retry_base_s: float = 5.0
    retry_max_s: float = 300.0
    batch: int = 50
    error_backoff_s: float = 5.0  # after a store error, before the next pass
    drain_s: float = 10.0  # how long a stop waits for the pass in flight


class ReminderScheduler:
    def __init__(
        self,
        *,
        store: ReminderStore,
        ports: Mapping[str, Outbound],
        clock: Callable[[], datetime],
        settings: SchedulerSettings = SchedulerSettings(),
    ) -> None:
        self._store = store
        self._ports = ports  # by platform; the composition root fills it as adapters attach
        self._clock = clock
        self._settings = settings
        self._holder = f"reminders-{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.delivered = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reminder-scheduler")

    def wake(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        """Let the pass in flight finish (within `drain_s`), then stop. A post cut by the deadline
        stays claimed until its lease runs out and is sent again then: late, never lost."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        await stop_task(task, self._settings.drain_s)

    async def run_due(self) -> int:
        """One pass: deliver every reminder due now; returns how many were delivered."""
        now = self._clock()
        claimed = await self._store.claim_due(
            now, holder=self._holder, lease_s=self._settings.lease_s, limit=self._settings.batch
        )
        sent = 0
        for reminder in claimed:
            sent += await self._deliver(reminder, now)
        return sent

    async def _run(self) -> None:
        while not self._stopping:
            try:
                while await self.run_due() >= self._settings.batch:
                    pass  # a full batch may leave more due: go again at once
                delay = await self._delay()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("reminder pass failed; trying again in %.0fs", self._settings.error_backoff_s)
                delay = self._settings.error_backoff_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()

    async def _delay(self) -> float:
        due = await self._store.next_due()
        if due is None:
            return self._settings.poll_s
        wait = (due - self._clock()).total_seconds()
        return min(max(wait, 0.05), self._settings.poll_s)

    async def _deliver(self, reminder: Reminder, now: datetime) -> int:
        port = self._ports.get(reminder.platform)
        try:
            if port is None:
                raise DeliveryError(f"no {reminder.platform} connection in this process")
            await port.deliver(await self._message(reminder, now))
        except DeliveryError as error:
            retry = self._retry_delay(reminder.attempts)
            _log.warning("reminder %s not delivered (%s); again in %.0fs", reminder.id, error, retry)
            await self._store.release(reminder.id, self._holder, retry_at=now + timedelta(seconds=retry))
            return 0
        if not await self._store.delivered(reminder.id, self._holder, self._clock()):
            _log.warning("reminder %s was delivered after its lease ran out", reminder.id)
        self.delivered += 1
        _log.info("reminder %s delivered", reminder.id)
        return 1

    def _retry_delay(self, attempts: int) -> float:
        backoff: float = self._settings.retry_base_s * 2.0 ** min(attempts, 16)
        return min(backoff, self._settings.retry_max_s)

    async def _message(self, reminder: Reminder, now: datetime) -> OutboundMessage:
        return OutboundMessage(
            platform=reminder.platform,
            room_id=reminder.room_id,
            thread_id=reminder.thread_id,
            recipient_id=reminder.owner.partition(":")[2],
            is_dm=reminder.is_dm,
            text=await reminder_text(reminder, now, late_after_s=self._settings.late_after_s),
        )


async def stop_task(task: asyncio.Task[None], drain_s: float) -> None:
    """Wait for a loop that was asked to stop; cancel it when it takes longer than `drain_s`."""
    done, _ = await asyncio.wait({task}, timeout=drain_s)
    if not done:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def reminder_text(reminder: Reminder, now: datetime, *, late_after_s: float) -> str:
    text = f"⏰ Reminder: {reminder.text}"
    if (now - reminder.due_at).total_seconds() <= late_after_s:
        return text
    local = reminder.due_at.astimezone(await zone_info(reminder.zone))
    when = (
        f"{local:%H:%M}"
        if local.date() == now.astimezone(local.tzinfo).date()
        else (f"{local:%a} {local.day} {local:%b %H:%M}")
    )
    return f"{text}\n(late: I was offline at {when} {reminder.zone})"
