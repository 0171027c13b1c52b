"""Builds the assistant's time half: the reminder book, the reminder and check-in schedulers, the
`/reminders` `/checkin` `/timezone` `/voice` commands, and the outbound ports they post through.

The schedulers run only while adapters do (`Assistant.running(adapters)`, entered by `App.run`):
each adapter that can post unsolicited messages is registered as its platform's `Outbound` port.
A post into an adapter that is down or closing fails with `DeliveryError` and the reminder waits
for the next try; a reminder due while no adapter of its platform runs waits too, never dropped.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime

from adapters.base import Adapter
from bot.config import Settings
from bot.stores import OpenedStores
from bot.wiring import BuiltEngine
from memory.assistant import CheckinStore, ReminderStore, VoiceChoices
from memory.postgres.reminders import PostgresCheckinStore, PostgresReminderStore, PostgresVoiceChoices
from memory.sqlite.reminders import SqliteCheckinStore, SqliteReminderStore, SqliteVoiceChoices
from persona.engine import utc_now
from persona.outbound import Outbound
from persona.providers.voice import OpenAISpeaker
from persona.reminders.book import ReminderBookService
from persona.reminders.checkins import Checkins
from persona.reminders.commands import AssistantCommands
from persona.reminders.scheduler import ReminderScheduler
from persona.reminders.zones import Zones
from persona.tools.reminders import reminder_tools
from persona.voice import VoiceReplies

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Assistant:
    book: ReminderBookService  # the `ReminderBook` the reminder tools call
    scheduler: ReminderScheduler
    checkins: Checkins
    voice: VoiceChoices
    ports: dict[str, Outbound]  # by platform, filled while adapters run
    voice_replies: VoiceReplies | None  # when FAMILIAR_VOICE__ENABLED: handed to the adapters

    @contextlib.asynccontextmanager
    async def running(self, adapters: Sequence[Adapter]) -> AsyncIterator[None]:
        for adapter in adapters:
            if isinstance(adapter, Outbound):
                self.ports[adapter.platform] = adapter
        self.scheduler.start()
        self.checkins.start()
        try:
            yield
        finally:
            await self.checkins.close()
            await self.scheduler.close()
            self.ports.clear()


async def build_assistant(
    settings: Settings,
    opened: OpenedStores,
    built: BuiltEngine,
    stack: AsyncExitStack,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> Assistant:
    """Stores on the shared database (closed with it), commands registered on the engine; the
    speech client, if any, is closed by `stack`."""
    reminders, checkin_store, voice = await _open(opened)
    zones = Zones(facts=opened.stores.facts, links=opened.stores.links, clock=clock)
    ports: dict[str, Outbound] = {}
    scheduler = ReminderScheduler(
        store=reminders, ports=ports, clock=clock, settings=settings.reminders.scheduler()
    )
    book = ReminderBookService(store=reminders, zones=zones, clock=clock, on_change=scheduler.wake)
    for tool in reminder_tools(book):  # a persona allowed them can now set reminders by itself
        built.tools.add(tool)
    persona = built.catalog.get(None)
    checkins = Checkins(
        store=checkin_store,
        reminders=reminders,
        journal=opened.stores.journal,
        zones=zones,
        persona=persona,
        provider=built.registry.build_chain([persona.model_ref, *persona.fallbacks]),
        ports=ports,
        clock=clock,
        settings=settings.reminders.checkins(),
    )
    commands = AssistantCommands(
        book=book, zones=zones, checkins=checkin_store, checkin_settings=checkins.settings, voice=voice
    )
    built.engine.add_commands(commands.handlers(), {"reminders": reminders.forget})
    replies = _voice_replies(settings, voice, stack)
    return Assistant(
        book=book, scheduler=scheduler, checkins=checkins, voice=voice, ports=ports, voice_replies=replies
    )


async def _open(opened: OpenedStores) -> tuple[ReminderStore, CheckinStore, VoiceChoices]:
    """The three tables on the shared database (Postgres with DATABASE_URL, else SQLite); nothing to
    close (the database is the root's)."""
    stores: tuple[ReminderStore, CheckinStore, VoiceChoices]
    if opened.postgres is not None:
        pg = opened.postgres
        stores = (PostgresReminderStore(pg), PostgresCheckinStore(pg), PostgresVoiceChoices(pg))
    else:
        stores = (
            SqliteReminderStore(opened.db),
            SqliteCheckinStore(opened.db),
            SqliteVoiceChoices(opened.db),
        )
    for store in stores:
        await store.start()
    return stores


def _voice_replies(settings: Settings, choices: VoiceChoices, stack: AsyncExitStack) -> VoiceReplies | None:
    voice = settings.voice_settings()
    if voice is None:
        return None
    speaker = OpenAISpeaker(voice)
    stack.push_async_callback(speaker.close)
    return VoiceReplies(choices=choices, speaker=speaker)
