"""The reminder book: `persona.reminders.port.ReminderBook` over a `memory.assistant.ReminderStore`.

A reminder is read in the person's zone, kept with the place it was set in (delivered there),
and is only ever listed or cancelled by its owner's linked identities. Its id is derived from
the message that set it and its content, so a retried tool call sets it once.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from memory.assistant import Reminder, ReminderStore
from persona.reminders.port import ReminderError, ReminderView
from persona.reminders.when import parse_when
from persona.reminders.zones import Zones, local_label
from persona.types import IncomingMessage

_log = logging.getLogger(__name__)

MAX_TEXT = 500
MAX_AHEAD = timedelta(days=5 * 366)
PAST_GRACE = timedelta(minutes=1)  # "in 0 minutes", or a clock time a few seconds ago, still counts
UNCLEAR = 'I could not read the time "{when}": try "in 10 minutes", "tomorrow at 9" or "2026-12-02 09:00".'


class ReminderBookService:
    """Implements `ReminderBook`; `on_change` wakes the scheduler so a near reminder is not late."""

    def __init__(
        self,
        *,
        store: ReminderStore,
        zones: Zones,
        clock: Callable[[], datetime],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._zones = zones
        self._clock = clock
        self.on_change = on_change

    async def schedule(self, origin: IncomingMessage, *, text: str, when: str) -> ReminderView:
        what = " ".join(text.split())[:MAX_TEXT]
        if not what:
            raise ReminderError("What should I remind you of? The reminder's text is empty.")
        zone = await self._zones.zone_for(origin)
        now = self._clock()
        due = parse_when(when, now.astimezone(zone))
        if due is None:
            raise ReminderError(UNCLEAR.format(when=when.strip()[:80]))
        if due < now - PAST_GRACE:
            raise ReminderError(f"{local_label(due, zone)} has already passed: pick a later time.")
        if due > now + MAX_AHEAD:
            raise ReminderError("That is more than five years away: pick a nearer time.")
        reminder = Reminder(
            id=_reminder_id(origin, what, due),
            owner=origin.identity,
            text=what,
            due_at=due.astimezone(now.tzinfo),
            zone=zone.key,
            platform=origin.platform,
            room_id=origin.room_id,
            thread_id=origin.thread_id,
            is_dm=origin.is_dm,
            source_id=origin.event_id,
            created_at=now,
        )
        await self._store.add(reminder)
        _log.info("reminder %s set for %s", reminder.id, reminder.due_at.isoformat())
        self.on_change()
        return await self._view(reminder, origin)

    async def upcoming(self, origin: IncomingMessage) -> list[ReminderView]:
        mine = await self._store.open_for(await self._zones.owners(origin))
        return [await self._view(r, origin) for r in mine]

    async def cancel(self, origin: IncomingMessage, reminder_id: str) -> ReminderView | None:
        owners = await self._zones.owners(origin)
        cancelled = await self._store.cancel(owners, reminder_id.strip().lower())
        return await self._view(cancelled, origin) if cancelled is not None else None

    async def _view(self, reminder: Reminder, origin: IncomingMessage) -> ReminderView:
        zone = await self._zones.zone_for(origin)
        return ReminderView(
            id=reminder.id,
            text=reminder.text,
            due_at=reminder.due_at,
            local_due=local_label(reminder.due_at, zone),
            where=where_label(reminder, origin),
        )


def where_label(reminder: Reminder, origin: IncomingMessage) -> str:
    here = (reminder.platform, reminder.room_id) == (origin.platform, origin.room_id)
    if reminder.is_dm:
        return "this DM" if here else f"our DM on {reminder.platform}"
    return "this room" if here else f"room {reminder.room_id} on {reminder.platform}"


def _reminder_id(origin: IncomingMessage, text: str, due: datetime) -> str:
    seed = f"{origin.identity}\x1f{origin.event_id}\x1f{text}\x1f{due.timestamp():.0f}"
    digest = hashlib.sha256(seed.encode()).digest()
    return base64.b32encode(digest[:5]).decode().lower()  # 8 characters, easy to type
