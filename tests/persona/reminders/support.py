"""Reminder book and scheduler on real SQLite stores, a movable clock and a recording port."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from memory.sqlite.db import Database
from memory.sqlite.facts import SqliteFactStore
from memory.sqlite.links import SqliteIdentityLinks
from memory.sqlite.reminders import SqliteReminderStore
from persona.reminders.book import ReminderBookService
from persona.reminders.scheduler import ReminderScheduler, SchedulerSettings
from persona.reminders.zones import Zones
from persona.types import IncomingMessage
from tests.fakes.outbound import RecordingOutbound

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def said(text: str = "", *, author: str = "1", room: str = "55", is_dm: bool = True) -> IncomingMessage:
    return IncomingMessage(platform="discord", room_id=room, author_id=author, author_name=f"user{author}",
                           text=text, event_id=f"ev-{author}-{text}-{room}", is_dm=is_dm)  # fmt: skip


@dataclass(kw_only=True)
class Reminding:
    book: ReminderBookService
    scheduler: ReminderScheduler
    store: SqliteReminderStore
    zones: Zones
    port: RecordingOutbound
    clock: Clock


async def reminding(db: Database, clock: Clock, port: RecordingOutbound | None = None) -> Reminding:
    facts = SqliteFactStore(db)
    links = SqliteIdentityLinks(db)
    store = SqliteReminderStore(db)
    for store_ in (facts, links, store):
        await store_.start()
    zones = Zones(facts=facts, links=links, clock=clock)
    port = port or RecordingOutbound()
    scheduler = ReminderScheduler(store=store, ports={"discord": port}, clock=clock,
                                  settings=SchedulerSettings(late_after_s=120))  # fmt: skip
    book = ReminderBookService(store=store, zones=zones, clock=clock, on_change=scheduler.wake)
    return Reminding(book=book, scheduler=scheduler, store=store, zones=zones, port=port, clock=clock)
