"""Journal scenarios: entries after a quiet gap, the morning reflection, scoping, Markdown files."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from memory.sqlite.journal import SqliteJournalStore
from persona.learning.journal import Journaler, Reflector
from persona.learning.scheduler import JournalScheduler
from persona.learning.settings import LearningSettings
from persona.providers.base import ErrorKind, ProviderError
from tests.persona.learning.support import (
    ALICE,
    DM,
    IN_GROUP,
    T0,
    Clock,
    Place,
    RecordingFiles,
    ScriptedProvider,
    turn,
)

SETTINGS = LearningSettings(quiet_gap_s=600, reflection_hour=7, timezone="UTC")


@pytest.fixture
def files(tmp_path: Path) -> RecordingFiles:
    return RecordingFiles(tmp_path / "data")


@pytest.fixture
def journaler(
    provider: ScriptedProvider, journal_store: SqliteJournalStore, files: RecordingFiles, clock: Clock
) -> Journaler:
    return Journaler(
        provider=provider, store=journal_store, files=files, model="m", settings=SETTINGS, clock=clock
    )


@pytest.fixture
def scheduler(
    journaler: Journaler,
    provider: ScriptedProvider,
    journal_store: SqliteJournalStore,
    files: RecordingFiles,
    clock: Clock,
) -> JournalScheduler:
    reflector = Reflector(
        provider=provider,
        store=journal_store,
        reader=journal_store,
        files=files,
        model="m",
        settings=SETTINGS,
        clock=clock,
        personas=("familiar",),
    )
    return JournalScheduler(journaler=journaler, reflector=reflector, settings=SETTINGS, clock=clock)


async def test_entry_written_only_after_the_quiet_gap(
    journaler: Journaler,
    scheduler: JournalScheduler,
    provider: ScriptedProvider,
    journal_store: SqliteJournalStore,
    clock: Clock,
) -> None:
    await journaler.after_turn(turn("I got the job!", event_id="e1", at=T0, reply="Congratulations!"))
    clock.now = T0 + timedelta(minutes=5)
    await journaler.after_turn(turn("starting Monday", event_id="e2", at=clock.now))
    clock.now = T0 + timedelta(minutes=14)
    assert await scheduler.run_due() == 0  # only 9 quiet minutes so far
    assert provider.requests == []

    provider.queue("Alice got the job she wanted. I felt proud of her; ask how Monday goes.")
    clock.now = T0 + timedelta(minutes=16)
    assert await scheduler.run_due() == 1
    assert len(provider.requests) == 1
    prompt = provider.requests[0].messages[0].content
    assert "I got the job!" in prompt
    assert "starting Monday" in prompt
    assert "private direct conversation" in prompt

    [entry] = await journal_store.recent("familiar", DM.visibility, 10)
    assert entry.kind == "entry"
    assert entry.scope == "dm"
    assert entry.owner == ALICE
    assert entry.day == "2026-11-24"
    assert entry.source_ids == ("e1", "e1:reply", "e2", "e2:reply")
    assert await scheduler.run_due() == 0  # nothing twice


async def test_day_change_closes_the_conversation(
    journaler: Journaler, scheduler: JournalScheduler, provider: ScriptedProvider, clock: Clock
) -> None:
    late = T0.replace(hour=23, minute=58)
    await journaler.after_turn(turn("good night soon", event_id="e1", at=late))
    clock.now = late + timedelta(minutes=3)  # past midnight, gap not yet over
    await journaler.after_turn(turn("still awake", event_id="e2", at=clock.now))
    provider.queue("A late chat with Alice.")
    assert await scheduler.run_due() == 1
    assert "good night soon" in provider.requests[0].messages[0].content
    assert "still awake" not in provider.requests[0].messages[0].content


async def test_group_entry_is_scoped_to_its_room_and_dm_entry_to_its_owner(
    journaler: Journaler,
    scheduler: JournalScheduler,
    provider: ScriptedProvider,
    journal_store: SqliteJournalStore,
    clock: Clock,
) -> None:
    await journaler.after_turn(turn("my secret plan", event_id="d1", place=DM))
    await journaler.after_turn(turn("hello lounge", event_id="g1", place=IN_GROUP))
    provider.queue("Private: Alice told me her secret plan.", "The lounge said hello.")
    clock.now = T0 + timedelta(hours=1)
    assert await scheduler.run_due() == 2

    in_group = await journal_store.recent("familiar", IN_GROUP.visibility, 10)
    assert [e.text for e in in_group] == ["The lounge said hello."]
    # Alice's entry is her record of the lounge: Bob sees it there only where the lounge shares.
    bob_in_group = Place(owner="terminal:bob", dm=False)
    assert await journal_store.recent("familiar", bob_in_group.visibility, 10) == []
    bob_in_sharing_group = Place(owner="terminal:bob", dm=False, room_shared=True)
    assert [e.text for e in await journal_store.recent("familiar", bob_in_sharing_group.visibility, 10)] == [
        "The lounge said hello."
    ]
    bob_dm = Place(owner="terminal:bob")
    assert await journal_store.recent("familiar", bob_dm.visibility, 10) == []
    assert len(await journal_store.recent("familiar", DM.visibility, 10)) == 2


async def test_markdown_file_holds_the_day_including_dm_entries(
    journaler: Journaler,
    scheduler: JournalScheduler,
    provider: ScriptedProvider,
    files: RecordingFiles,
    clock: Clock,
) -> None:
    await journaler.after_turn(turn("my secret plan", event_id="d1", place=DM))
    provider.queue("Alice trusted me with her plan.")
    clock.now = T0 + timedelta(hours=1)
    await scheduler.run_due()
    text = await files.read("familiar", "2026-11-24")
    assert text.startswith("# familiar — journal for 2026-11-24")
    assert "Alice trusted me with her plan." in text
    assert "private (DM)" in text
    assert files.path_for("familiar", "2026-11-24").name == "2026-11-24.md"


async def test_failed_entry_is_retried_later(
    journaler: Journaler, scheduler: JournalScheduler, provider: ScriptedProvider, clock: Clock
) -> None:
    await journaler.after_turn(turn("I adopted a dog", event_id="e1"))
    provider.queue(ProviderError(ErrorKind.SERVER, "overloaded", provider="scripted"))
    clock.now = T0 + timedelta(hours=1)
    assert await scheduler.run_due() == 0
    provider.queue("Alice has a dog now.")
    clock.now += timedelta(hours=1)
    assert await scheduler.run_due() == 1


async def test_morning_reflection_reads_yesterday_per_scope(
    journaler: Journaler,
    scheduler: JournalScheduler,
    provider: ScriptedProvider,
    journal_store: SqliteJournalStore,
    clock: Clock,
) -> None:
    yesterday = T0.replace(hour=15)
    clock.now = yesterday
    await journaler.after_turn(turn("my exam is tomorrow", event_id="d1", at=clock.now, place=DM))
    provider.queue("Alice has an exam tomorrow.")
    clock.now += timedelta(minutes=20)
    assert await scheduler.run_due() == 1
    await journaler.after_turn(turn("movie night friday?", event_id="g1", at=clock.now, place=IN_GROUP))
    provider.queue("The lounge plans a movie night.")
    clock.now += timedelta(minutes=20)
    assert await scheduler.run_due() == 1

    clock.now = T0 + timedelta(days=1, hours=-3)  # 06:00 next day: too early
    assert await scheduler.run_due() == 0
    provider.queue(
        "Today I will ask Alice how the exam went.", "Today I will remind the lounge about Friday."
    )
    clock.now = T0 + timedelta(days=1, hours=-1)  # 08:00
    assert await scheduler.run_due() == 2
    prompts = [r.messages[0].content for r in provider.requests[-2:]]
    assert any("exam" in p and "movie" not in p for p in prompts)
    assert any("movie" in p and "exam" not in p for p in prompts)

    group_view = await journal_store.recent("familiar", IN_GROUP.visibility, 10)
    assert "Today I will ask Alice how the exam went." not in [e.text for e in group_view]
    dm_view = await journal_store.recent("familiar", DM.visibility, 10)
    reflections = [e for e in dm_view if e.kind == "reflection"]
    assert {e.day for e in reflections} == {"2026-11-25"}
    assert len(reflections) == 2
    assert await scheduler.run_due() == 0  # once a day


async def test_scheduler_task_wakes_on_activity_and_closes(
    journaler: Journaler,
    scheduler: JournalScheduler,
    provider: ScriptedProvider,
    files: RecordingFiles,
    clock: Clock,
) -> None:
    # Before the reflection hour, so only the journal entry is due.
    clock.now = T0.replace(hour=5)
    await scheduler.start()
    await scheduler.start()  # idempotent
    provider.queue("A quick chat with Alice.")
    await journaler.after_turn(
        turn("quick hello from the past", event_id="e1", at=clock.now - timedelta(hours=1))
    )
    await asyncio.wait_for(files.written.wait(), timeout=10)
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "journal-scheduler"]
    assert len(tasks) == 1
    await scheduler.close()
    await scheduler.close()
    assert tasks[0].done()


async def test_retried_turn_is_noted_once(
    journaler: Journaler, scheduler: JournalScheduler, provider: ScriptedProvider, clock: Clock
) -> None:
    same = turn("I adopted a dog", event_id="e1")
    await journaler.after_turn(same)
    await journaler.after_turn(same)
    provider.queue("Alice has a dog now.")
    clock.now = T0 + timedelta(hours=1)
    assert await scheduler.run_due() == 1
    assert provider.requests[0].messages[0].content.count("I adopted a dog") == 1


async def test_journal_day_follows_the_configured_timezone(
    provider: ScriptedProvider, journal_store: SqliteJournalStore, files: RecordingFiles, clock: Clock
) -> None:
    settings = LearningSettings(quiet_gap_s=600, timezone="America/New_York")
    journaler = Journaler(
        provider=provider, store=journal_store, files=files, model="m", settings=settings, clock=clock
    )
    at = T0.replace(hour=3)  # 03:00 UTC is still the evening before in New York
    await journaler.after_turn(turn("late night thoughts", event_id="e1", at=at))
    provider.queue("Alice could not sleep.")
    assert await journaler.flush_due(at + timedelta(hours=1)) == 1
    [entry] = await journal_store.day("familiar", "2026-11-23")
    assert entry.text == "Alice could not sleep."
    assert "Alice could not sleep." in await files.read("familiar", "2026-11-23")
