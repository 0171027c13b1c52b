"""The reminder book and its scheduler: set, list, cancel, delivered once, late after downtime."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from memory.sqlite.db import Database
from persona.reminders.port import ReminderError
from tests.persona.reminders.support import Clock, reminding, said


async def test_a_reminder_is_delivered_once_where_it_was_set_at_its_time(db: Database) -> None:
    clock = Clock()
    r = await reminding(db, clock)
    view = await r.book.schedule(said("remind me"), text="stretch", when="in 2 minutes")
    assert view.due_at == clock.now + timedelta(minutes=2)
    assert view.local_due == "Wed 2 Dec 08:02 (UTC)"  # the zone is shown, so a wrong one is seen
    assert view.where == "this DM"
    assert await r.scheduler.run_due() == 0  # not yet
    clock.advance(minutes=2)
    assert await r.scheduler.run_due() == 1
    assert await r.scheduler.run_due() == 0
    [posted] = r.port.posted
    assert (posted.room_id, posted.recipient_id, posted.is_dm) == ("55", "1", True)
    assert posted.text == "⏰ Reminder: stretch"
    assert await r.book.upcoming(said()) == []


async def test_the_persons_zone_reads_the_time_and_names_it(db: Database) -> None:
    clock = Clock()  # 08:00 UTC = 09:00 in Paris
    r = await reminding(db, clock)
    await r.zones.set_zone(said(), "Europe/Paris")
    view = await r.book.schedule(said("x"), text="call mom", when="tomorrow at 9")
    assert view.local_due == "Thu 3 Dec 09:00 (Europe/Paris)"
    assert view.due_at == clock.now + timedelta(days=1)
    with pytest.raises(ReminderError, match="not a time zone"):
        await r.zones.set_zone(said(), "Mars/Olympus")


async def test_unclear_and_past_times_get_one_readable_line(db: Database) -> None:
    r = await reminding(db, Clock())
    with pytest.raises(ReminderError, match='could not read the time "whenever"'):
        await r.book.schedule(said(), text="x", when="whenever")
    with pytest.raises(ReminderError, match="already passed"):
        await r.book.schedule(said(), text="x", when="2026-12-01T09:00")
    with pytest.raises(ReminderError, match="empty"):
        await r.book.schedule(said(), text="  ", when="in 5 minutes")
    assert await r.book.upcoming(said()) == []


async def test_a_cancelled_reminder_is_never_delivered(db: Database) -> None:
    clock = Clock()
    r = await reminding(db, clock)
    keep = await r.book.schedule(said("a"), text="water plants", when="in 10 minutes")
    drop = await r.book.schedule(said("b"), text="call bob", when="in 5 minutes")
    assert [v.id for v in await r.book.upcoming(said())] == [drop.id, keep.id]  # soonest first
    cancelled = await r.book.cancel(said(), drop.id.upper())  # ids are read case-insensitively
    assert cancelled is not None
    assert cancelled.text == "call bob"
    assert await r.book.cancel(said(), drop.id) is None
    clock.advance(minutes=10)
    assert await r.scheduler.run_due() == 1
    assert r.port.texts == ["⏰ Reminder: water plants"]


async def test_another_person_can_neither_list_nor_cancel_it(db: Database) -> None:
    clock = Clock()
    r = await reminding(db, clock)
    mine = await r.book.schedule(said("a", is_dm=False), text="secret errand", when="in 1 hour")
    stranger = said(author="2", is_dm=False)
    assert await r.book.upcoming(stranger) == []
    assert await r.book.cancel(stranger, mine.id) is None
    clock.advance(hours=1)
    assert await r.scheduler.run_due() == 1
    [posted] = r.port.posted
    assert (posted.recipient_id, posted.is_dm) == ("1", False)  # in the room, for its owner


async def test_a_missed_reminder_is_delivered_late_with_a_note_after_a_restart(
    db: Database,
) -> None:
    clock = Clock()
    first = await reminding(db, clock)
    await first.book.schedule(said("a"), text="take the pills", when="in 60 minutes")
    # The process stops; the bot is down until the afternoon; a new process starts on the same data.
    clock.advance(hours=6)
    second = await reminding(db, clock)
    assert await second.scheduler.run_due() == 1
    assert second.port.texts == ["⏰ Reminder: take the pills\n(late: I was offline at 09:00 UTC)"]
    assert await second.scheduler.run_due() == 0


async def test_a_platform_that_is_away_gets_the_reminder_when_it_is_back(db: Database) -> None:
    clock = Clock()
    r = await reminding(db, clock)
    await r.book.schedule(said("a"), text="stand up", when="in 1 minute")
    r.port.connected = False
    clock.advance(minutes=1)
    assert await r.scheduler.run_due() == 0
    clock.advance(seconds=2)
    assert await r.scheduler.run_due() == 0  # waits for its retry: no storm
    r.port.connected = True
    clock.advance(seconds=10)
    assert await r.scheduler.run_due() == 1
    assert r.port.texts == ["⏰ Reminder: stand up"]


async def test_the_scheduler_task_delivers_when_woken_by_the_clock(db: Database) -> None:
    clock = Clock()
    r = await reminding(db, clock)
    r.scheduler.start()
    try:
        await r.book.schedule(said("a"), text="tea", when="in 3 minutes")
        clock.advance(minutes=3)
        r.scheduler.wake()
        async with asyncio.timeout(10):
            await r.port.changed.wait()
    finally:
        await r.scheduler.close()
    assert r.port.texts == ["⏰ Reminder: tea"]
