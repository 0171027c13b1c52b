"""Proactive check-ins: opt-in, at the person's hour in their zone, never in quiet hours, once a day."""

from __future__ import annotations

from datetime import UTC, datetime, time

from memory.records import JournalEntry
from memory.sqlite.db import Database
from memory.sqlite.journal import SqliteJournalStore
from memory.sqlite.reminders import SqliteCheckinStore, SqliteVoiceChoices
from persona.api import Command, CommandName
from persona.personas import load_catalog
from persona.providers.base import ErrorKind, ProviderError
from persona.reminders.checkins import Checkins, CheckinSettings
from persona.reminders.commands import AssistantCommands
from tests.fakes.provider import ScriptedProvider
from tests.persona.reminders.support import Clock, Reminding, reminding, said

MORNING = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)  # 08:00 in Paris
DEFAULTS = CheckinSettings()  # quiet 22:00-08:00


async def setup(
    db: Database, clock: Clock, provider: ScriptedProvider, settings: CheckinSettings = DEFAULTS
) -> tuple[Reminding, Checkins, AssistantCommands]:
    r = await reminding(db, clock)
    store, journal, voice = SqliteCheckinStore(db), SqliteJournalStore(db), SqliteVoiceChoices(db)
    for s in (store, journal, voice):
        await s.start()
    persona = (await load_catalog()).get(None)
    await journal.add(JournalEntry(id="j1", persona=persona.name, day="2026-12-01", kind="entry",
                                   text="Ada talked about her marathon training.", scope="dm",
                                   created_at=MORNING, owner="discord:1"))  # fmt: skip
    checkins = Checkins(store=store, reminders=r.store, journal=journal, zones=r.zones,
                        persona=persona, provider=provider, ports={"discord": r.port}, clock=clock,
                        settings=settings)  # fmt: skip
    commands = AssistantCommands(book=r.book, zones=r.zones, checkins=store,
                                 checkin_settings=settings, voice=voice)  # fmt: skip
    return r, checkins, commands


async def run(commands: AssistantCommands, name: CommandName, args: str, *, is_dm: bool = True) -> str:
    handler = commands.handlers()[name]
    return (await handler(Command(name=name, args=args, context=said(is_dm=is_dm)))).text


async def test_a_checkin_is_sent_at_its_hour_once_from_journal_and_reminders(db: Database) -> None:
    clock = Clock(MORNING)
    provider = ScriptedProvider(responder=lambda request: "Morning Ada! How was the long run?")
    r, checkins, commands = await setup(db, clock, provider)
    assert "Europe/Paris" in await run(commands, "timezone", "Europe/Paris")
    assert "DM" in await run(commands, "checkin", "on", is_dm=False)  # only by direct message
    assert "08:30 (Europe/Paris)" in await run(commands, "checkin", "at 08:30")
    await r.book.schedule(said("x"), text="book the physio", when="tomorrow at 10")
    assert await checkins.run_due() == 0  # 08:00 there: not yet
    clock.advance(minutes=30)
    assert await checkins.run_due() == 1
    assert await checkins.run_due() == 0  # one a day
    assert r.port.texts == ["Morning Ada! How was the long run?"]
    assert r.port.posted[0].is_dm
    [request] = provider.requests
    prompt = request.messages[0].content
    assert "marathon training" in prompt
    assert "book the physio (Thu 3 Dec 10:00 (Europe/Paris))" in prompt
    assert request.background
    clock.advance(days=1)
    assert await checkins.run_due() == 1  # the next day's
    assert "off" in await run(commands, "checkin", "off")
    clock.advance(days=1)
    assert await checkins.run_due() == 0


async def test_quiet_hours_are_never_broken(db: Database) -> None:
    clock = Clock(MORNING)
    quiet = CheckinSettings(quiet_start=time(22, 0), quiet_end=time(9, 0))
    r, checkins, commands = await setup(db, clock, ScriptedProvider(), quiet)
    await run(commands, "timezone", "Europe/Paris")
    refused = await run(commands, "checkin", "at 08:30")
    assert "quiet hours (22:00–09:00)" in refused
    assert "Check-ins are off" in await run(commands, "checkin", "")
    # Quiet hours changed after the choice was made: the check-in still waits for them to end.
    loud = CheckinSettings(quiet_start=time(22, 0), quiet_end=time(7, 0))
    _, _, loud_commands = await setup(db, clock, ScriptedProvider(), loud)
    await run(loud_commands, "checkin", "at 08:30")
    clock.advance(minutes=30)  # 08:30 in Paris, quiet until 09:00 under `quiet`
    assert await checkins.run_due() == 0
    clock.advance(minutes=30)
    assert await checkins.run_due() == 1
    assert r.port.texts == ["reply 1"]


async def test_a_provider_outage_still_sends_a_plain_checkin(db: Database) -> None:
    clock = Clock(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    down = ProviderError(ErrorKind.SERVER, "down", provider="fake")
    r, checkins, commands = await setup(db, clock, ScriptedProvider(down))
    await run(commands, "checkin", "on")  # 09:00 by default, UTC until told otherwise
    await r.book.schedule(said("x"), text="water the plants", when="today at 18:00")
    assert await checkins.run_due() == 1
    assert r.port.texts == [
        "Good morning! Just checking in.\nYour open reminders:\n- water the plants (Wed 2 Dec 18:00 (UTC))"
    ]
