"""Journal conversations survive a restart: drafts on real SQLite, one Journaler per "process".

A restart here closes the Database and opens a new one on the same file, with a new store and a
new Journaler, exactly what a deploy or a crash followed by a start does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from memory.records import JournalEntry
from memory.sqlite.db import Database
from memory.sqlite.journal import SqliteJournalStore
from persona.learning.journal import Journaler, Reflector
from persona.learning.scheduler import JournalScheduler
from persona.learning.settings import LearningSettings
from persona.providers.base import ChatRequest, ChatResult, ErrorKind, ProviderError, TextCallback
from tests.persona.learning.support import (
    ALICE,
    BOB,
    DM,
    T0,
    Clock,
    Place,
    RecordingFiles,
    ScriptedProvider,
    turn,
)

SETTINGS = LearningSettings(quiet_gap_s=600, reflection_hour=7, timezone="UTC")
BOB_IN_GROUP = Place(owner=BOB, dm=False)
ALICE_IN_GROUP = Place(owner=ALICE, dm=False)


@dataclass(slots=True)
class Process:
    store: SqliteJournalStore
    journaler: Journaler
    files: RecordingFiles

    async def entries(self) -> list[JournalEntry]:
        return await self.store.day("familiar", "2026-11-24")


@dataclass(slots=True)
class Bot:
    """Starts "processes" on one data directory, sharing the scripted model and the clock."""

    data_dir: Path
    provider: ScriptedProvider
    clock: Clock

    @asynccontextmanager
    async def run(self, settings: LearningSettings = SETTINGS) -> AsyncIterator[Process]:
        db = Database(self.data_dir / "familiar.sqlite3")
        await db.open()
        files = RecordingFiles(self.data_dir)
        store = SqliteJournalStore(db, files=files)
        await store.start()
        journaler = Journaler(
            provider=self.provider,
            store=store,
            files=files,
            model="m",
            settings=settings,
            clock=self.clock,
            drafts=store.drafts,
        )
        try:
            yield Process(store=store, journaler=journaler, files=files)
        finally:
            await store.close()
            await db.close()

    @asynccontextmanager
    async def restarted(self, settings: LearningSettings = SETTINGS) -> AsyncIterator[Process]:
        """A new process that restored what the last one left pending, as start-up does."""
        async with self.run(settings) as process:
            await process.journaler.restore()
            yield process


@pytest.fixture
def bot(tmp_path: Path, provider: ScriptedProvider, clock: Clock) -> Bot:
    return Bot(data_dir=tmp_path, provider=provider, clock=clock)


def prompt(provider: ScriptedProvider, index: int = -1) -> str:
    return provider.requests[index].messages[0].content


async def test_conversation_pending_at_a_restart_is_journaled_after_it(
    bot: Bot, provider: ScriptedProvider, clock: Clock
) -> None:
    async with bot.run() as before:
        await before.journaler.after_turn(turn("I got the job!", event_id="e1", reply="Congratulations!"))
        clock.now = T0 + timedelta(minutes=5)
        await before.journaler.after_turn(turn("starting Monday", event_id="e2", at=clock.now))

    clock.now = T0 + timedelta(minutes=10)
    async with bot.restarted() as after:
        assert await after.journaler.flush_due(clock.now) == 0  # the gap runs from the last turn
        provider.queue("Alice got the job; ask how Monday goes.")
        clock.now = T0 + timedelta(minutes=16)
        assert await after.journaler.flush_due(clock.now) == 1
        [entry] = await after.entries()
        assert entry.owner == ALICE
        assert entry.source_ids == ("e1", "e1:reply", "e2", "e2:reply")
        assert "Alice got the job" in await after.files.read("familiar", "2026-11-24")
    said = prompt(provider)
    assert "I got the job!" in said
    assert "Congratulations!" in said
    assert "starting Monday" in said

    clock.now += timedelta(hours=2)
    async with bot.restarted() as again:
        assert await again.journaler.flush_due(clock.now) == 0
        assert len(await again.entries()) == 1
    assert len(provider.requests) == 1


async def test_gap_that_passed_while_down_is_written_as_soon_as_the_scheduler_starts(
    bot: Bot, provider: ScriptedProvider, clock: Clock
) -> None:
    clock.now = T0.replace(hour=5)  # before the reflection hour: only the journal entry is due
    async with bot.run() as before:
        await before.journaler.after_turn(turn("quick hello", event_id="e1", at=clock.now))

    clock.now += timedelta(hours=1)
    provider.queue("A quick chat with Alice.")
    async with bot.run() as after:
        reflector = Reflector(
            provider=provider,
            store=after.store,
            reader=after.store,
            files=after.files,
            model="m",
            settings=SETTINGS,
            clock=clock,
            personas=("familiar",),
        )
        scheduler = JournalScheduler(
            journaler=after.journaler, reflector=reflector, settings=SETTINGS, clock=clock
        )
        await scheduler.start()  # restores the drafts before its first deadline
        try:
            await asyncio.wait_for(after.files.written.wait(), timeout=10)
        finally:
            await scheduler.close()
        [entry] = await after.entries()
    assert entry.text == "A quick chat with Alice."
    assert "quick hello" in prompt(provider)


async def test_turn_noted_again_after_a_restart_adds_no_second_copy(
    bot: Bot, provider: ScriptedProvider, clock: Clock
) -> None:
    first = turn("I adopted a dog", event_id="e1")
    async with bot.run() as before:
        await before.journaler.after_turn(first)

    async with bot.restarted() as after:
        await after.journaler.after_turn(first)  # its job ran again after the restart
        clock.now = T0 + timedelta(minutes=2)
        await after.journaler.after_turn(turn("his name is Rex", event_id="e2", at=clock.now))
        provider.queue("Alice has a dog called Rex.")
        assert await after.journaler.flush_due(T0 + timedelta(hours=1)) == 1
        [entry] = await after.entries()
    said = prompt(provider)
    assert said.count("I adopted a dog") == 1
    assert "his name is Rex" in said
    assert entry.source_ids == ("e1", "e1:reply", "e2", "e2:reply")


async def test_day_that_ended_while_down_is_written_at_once(
    bot: Bot, provider: ScriptedProvider, clock: Clock
) -> None:
    long_gap = LearningSettings(quiet_gap_s=3600, reflection_hour=7, timezone="UTC")
    late = T0.replace(hour=23, minute=30)
    async with bot.run(long_gap) as before:
        await before.journaler.after_turn(turn("good night soon", event_id="e1", at=late))

    clock.now = late + timedelta(minutes=35)  # past midnight, the hour-long gap not yet over
    async with bot.restarted(long_gap) as after:
        due = after.journaler.next_due()
        assert due is not None
        assert due <= clock.now
        provider.queue("A late chat with Alice.")
        assert await after.journaler.flush_due(clock.now) == 1
        [entry] = await after.entries()
    assert entry.day == "2026-11-24"


async def test_failed_entry_keeps_its_retry_across_a_restart(
    bot: Bot, provider: ScriptedProvider, clock: Clock
) -> None:
    async with bot.run() as before:
        await before.journaler.after_turn(turn("I adopted a dog", event_id="e1"))
        provider.queue(ProviderError(ErrorKind.SERVER, "overloaded", provider="scripted"))
        clock.now = T0 + timedelta(hours=1)
        assert await before.journaler.flush_due(clock.now) == 0

    async with bot.restarted() as after:
        assert await after.journaler.flush_due(clock.now + timedelta(minutes=5)) == 0  # retry not yet due
        provider.queue("Alice has a dog now.")
        assert await after.journaler.flush_due(clock.now + timedelta(minutes=11)) == 1
        assert [e.text for e in await after.entries()] == ["Alice has a dog now."]
        assert await after.store.drafts.pending() == []


async def test_entry_that_keeps_failing_is_dropped_for_good(
    bot: Bot, provider: ScriptedProvider, clock: Clock
) -> None:
    async with bot.run() as process:
        await process.journaler.after_turn(turn("I adopted a dog", event_id="e1"))
        provider.queue(ProviderError(ErrorKind.AUTH, "bad key", provider="scripted"))
        assert await process.journaler.flush_due(T0 + timedelta(hours=1)) == 0
        assert await process.store.drafts.pending() == []
        assert process.journaler.next_due() is None


async def _alice_and_a_room(process: Process) -> None:
    await process.journaler.after_turn(turn("my secret plan is to move to Oslo", event_id="d1", place=DM))
    await process.journaler.after_turn(turn("hello lounge", event_id="g1", place=ALICE_IN_GROUP))
    await process.journaler.after_turn(turn("hi, I bake bread", event_id="g2", place=BOB_IN_GROUP))
    await process.journaler.after_turn(turn("Bob's quiet corner", event_id="b1", place=Place(owner=BOB)))


async def _journaled_after_restart(bot: Bot, provider: ScriptedProvider) -> list[JournalEntry]:
    async with bot.restarted() as after:
        provider.queue("An entry.", "An entry.", "An entry.")
        await after.journaler.flush_due(T0 + timedelta(hours=1))
        return await after.entries()


async def test_forgetting_a_person_drops_their_pending_conversations(
    bot: Bot, provider: ScriptedProvider
) -> None:
    async with bot.run() as before:
        await _alice_and_a_room(before)
        await before.store.forget(frozenset({ALICE}))
    entries = await _journaled_after_restart(bot, provider)
    assert [e.source_ids for e in entries] == [("b1", "b1:reply")]  # only Bob's own DM is left
    [request] = provider.requests
    assert "Oslo" not in request.messages[0].content
    assert "lounge" not in request.messages[0].content


async def test_forgetting_a_phrase_drops_only_the_conversations_that_mention_it(
    bot: Bot, provider: ScriptedProvider
) -> None:
    async with bot.run() as before:
        await _alice_and_a_room(before)
        await before.store.forget(frozenset({ALICE}), "OSLO")
    entries = await _journaled_after_restart(bot, provider)
    assert {e.source_ids[0] for e in entries} == {"g1", "b1"}
    assert not any("Oslo" in r.messages[0].content for r in provider.requests)


async def test_forgetting_by_event_ids_drops_the_shared_room_conversation(
    bot: Bot, provider: ScriptedProvider
) -> None:
    async with bot.run() as before:
        await _alice_and_a_room(before)
        # As /forget does for a person's messages in shared rooms: found by their event ids.
        await before.store.forget(frozenset({"terminal:nobody"}), sources=frozenset({"g2"}))
    entries = await _journaled_after_restart(bot, provider)
    assert {e.source_ids[0] for e in entries} == {"d1", "b1"}
    assert not any("bake bread" in r.messages[0].content for r in provider.requests)


async def test_forgotten_lines_do_not_come_back_with_the_next_turn(
    bot: Bot, provider: ScriptedProvider, clock: Clock
) -> None:
    async with bot.run() as process:
        await process.journaler.after_turn(turn("my secret plan is to move to Oslo", event_id="d1"))
        await process.store.forget(frozenset({ALICE}))
        clock.now = T0 + timedelta(minutes=1)
        await process.journaler.after_turn(turn("what's for dinner?", event_id="d2", at=clock.now))
        provider.queue("Alice wondered about dinner.")
        assert await process.journaler.flush_due(T0 + timedelta(hours=1)) == 1
        [entry] = await process.entries()
    assert "Oslo" not in prompt(provider)
    assert "dinner" in prompt(provider)
    assert entry.source_ids == ("d2", "d2:reply")


class ForgetWhileWriting(ScriptedProvider):
    """Runs a /forget while the journal entry is being composed (between reading the draft and
    saving the entry), the widest window a forget can hit."""

    def __init__(self) -> None:
        super().__init__()
        self.store: SqliteJournalStore | None = None

    async def chat(self, request: ChatRequest, on_text: TextCallback | None = None) -> ChatResult:
        assert self.store is not None
        await self.store.forget(frozenset({ALICE}))
        return await super().chat(request, on_text)


async def test_forget_during_the_write_removes_the_entry_too(tmp_path: Path, clock: Clock) -> None:
    provider = ForgetWhileWriting()
    bot = Bot(data_dir=tmp_path, provider=provider, clock=clock)
    async with bot.run() as process:
        provider.store = process.store
        await process.journaler.after_turn(turn("my secret plan is to move to Oslo", event_id="d1"))
        provider.queue("Alice plans to move to Oslo.")
        assert await process.journaler.flush_due(T0 + timedelta(hours=1)) == 0
        assert await process.entries() == []
        assert "Oslo" not in await process.files.read("familiar", "2026-11-24")
        assert await process.store.drafts.pending() == []


class HeldProvider(ScriptedProvider):
    """Holds its next call open until released, so a test can act while an entry is written."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def chat(self, request: ChatRequest, on_text: TextCallback | None = None) -> ChatResult:
        if not self.release.is_set():
            self.entered.set()
            await self.release.wait()
        return await super().chat(request, on_text)


async def test_a_conversation_started_during_a_write_gets_its_own_entry(tmp_path: Path, clock: Clock) -> None:
    provider = HeldProvider()
    bot = Bot(data_dir=tmp_path, provider=provider, clock=clock)
    started = T0 + timedelta(minutes=20)
    async with bot.run() as process:
        await process.journaler.after_turn(turn("first chat", event_id="e1"))
        provider.queue("The first chat.")
        writing = asyncio.create_task(process.journaler.flush_due(started))
        await provider.entered.wait()
        await process.journaler.after_turn(turn("second chat", event_id="e2", at=started))
        provider.release.set()
        assert await writing == 1

    async with bot.restarted() as after:  # the second conversation outlived the first one's write
        provider.queue("The second chat.")
        assert await after.journaler.flush_due(started + timedelta(hours=1)) == 1
        assert [e.source_ids for e in await after.entries()] == [("e1", "e1:reply"), ("e2", "e2:reply")]
    assert "second chat" in prompt(provider)
    assert "first chat" not in prompt(provider)


class FailingOnceFiles(RecordingFiles):
    """The Markdown copy fails once (a full disk), after the entry reached SQLite."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.failures = 1

    async def append(self, entry: JournalEntry) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("No space left on device")
        await super().append(entry)


async def test_a_write_that_fails_halfway_is_retried_without_a_second_entry(
    tmp_path: Path, provider: ScriptedProvider, clock: Clock
) -> None:
    db = Database(tmp_path / "familiar.sqlite3")
    await db.open()
    files = FailingOnceFiles(tmp_path)
    store = SqliteJournalStore(db, files=files)
    await store.start()
    journaler = Journaler(
        provider=provider,
        store=store,
        files=files,
        model="m",
        settings=SETTINGS,
        clock=clock,
        drafts=store.drafts,
    )
    try:
        await journaler.after_turn(turn("I adopted a dog", event_id="e1"))
        await journaler.after_turn(turn("hello lounge", event_id="g1", place=ALICE_IN_GROUP))
        provider.queue("Alice has a dog now.", "Alice has a dog, really.", "The lounge said hello.")
        later = T0 + timedelta(hours=1)
        with pytest.raises(OSError, match="No space"):
            await journaler.flush_due(later)
        assert journaler.next_due() == later  # both still scheduled, the unwritten room one too
        assert await journaler.flush_due(later) == 2
        texts = [e.text for e in await store.day("familiar", "2026-11-24")]
        assert sorted(texts) == ["Alice has a dog now.", "The lounge said hello."]  # the first text kept
        assert (await files.read("familiar", "2026-11-24")).count("## ") == 2
        assert await store.drafts.pending() == []
    finally:
        await db.close()


async def test_closing_the_scheduler_lets_the_entry_being_written_finish(
    tmp_path: Path, clock: Clock
) -> None:
    provider = HeldProvider()
    bot = Bot(data_dir=tmp_path, provider=provider, clock=clock)
    clock.now = T0.replace(hour=5)  # before the reflection hour: only the journal entry is due
    async with bot.run() as process:
        reflector = Reflector(
            provider=provider,
            store=process.store,
            reader=process.store,
            files=process.files,
            model="m",
            settings=SETTINGS,
            clock=clock,
            personas=("familiar",),
        )
        scheduler = JournalScheduler(
            journaler=process.journaler, reflector=reflector, settings=SETTINGS, clock=clock
        )
        await scheduler.start()
        await process.journaler.after_turn(
            turn("quick hello", event_id="e1", at=clock.now - timedelta(hours=1))
        )
        provider.queue("A quick chat with Alice.")
        await provider.entered.wait()
        closing = asyncio.create_task(scheduler.close())  # a shutdown while the entry is composed
        provider.release.set()
        await closing
        assert [e.text for e in await process.entries()] == ["A quick chat with Alice."]
        assert await process.store.drafts.pending() == []
        assert "A quick chat with Alice." in await process.files.read("familiar", "2026-11-24")
