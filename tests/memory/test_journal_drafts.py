"""SqliteJournalDrafts on real SQLite: pending journal conversations that outlive the process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pytest

from memory.records import DraftLine, JournalDraft
from memory.sqlite.db import Database
from memory.sqlite.journal import SqliteJournalStore
from memory.sqlite.journal_drafts import SqliteJournalDrafts
from tests.support.sqlite import DB_FILE

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
OSLO = timezone(timedelta(hours=1))
ALICE, BOB = "terminal:alice", "terminal:bob"
LOUNGE = "room:terminal:lounge"
_R = TypeVar("_R")


def draft(
    draft_id: str,
    *said: str,
    owners: tuple[str, ...] = (ALICE,),
    scope: str = "dm",
    minutes: int = 0,
) -> JournalDraft:
    at = T0 + timedelta(minutes=minutes)
    return JournalDraft(
        id=draft_id,
        persona="familiar",
        session=f"terminal:{draft_id}",
        scope=scope,
        last_at=at,
        owners=owners,
        lines=tuple(DraftLine(author="Alice", text=text, at=at) for text in said),
        source_ids=tuple(f"{draft_id}-ev{i}" for i in range(len(said))),
    )


@pytest.fixture
async def drafts(db: Database) -> AsyncIterator[SqliteJournalDrafts]:
    store = SqliteJournalDrafts(db)
    await store.start()
    yield store
    await store.close()
    await store.close()  # idempotent


async def test_a_draft_reads_back_exactly_after_reopening(tmp_path: Path) -> None:
    local = datetime(2026, 11, 24, 23, 50, tzinfo=OSLO)
    saved = JournalDraft(
        id="d1",
        persona="familiar",
        session="terminal:dm-alice",
        scope="dm",
        last_at=local,
        owners=(ALICE, BOB),
        lines=(
            DraftLine(author="Alice", text='quotes " and \\ and ünïcode', at=local),
            DraftLine(author="familiar", text="Noted.", at=local),
        ),
        source_ids=("e1", "e1:reply"),
        attempts=2,
        retry_at=T0,
    )
    await _in_a_new_process(tmp_path, lambda store: store.save(saved))
    [got] = await _in_a_new_process(tmp_path, lambda store: store.pending())
    assert got == saved
    # The journal prompt shows each line's time as it was said, not converted.
    assert [line.at.strftime("%H:%M") for line in got.lines] == ["23:50", "23:50"]
    assert got.last_at.utcoffset() == timedelta(hours=1)


async def _in_a_new_process(tmp_path: Path, use: Callable[[SqliteJournalDrafts], Awaitable[_R]]) -> _R:
    db = Database(tmp_path / DB_FILE)
    await db.open()
    try:
        store = SqliteJournalDrafts(db)
        await store.start()
        return await use(store)
    finally:
        await db.close()


async def test_save_replaces_and_update_never_resurrects(drafts: SqliteJournalDrafts) -> None:
    await drafts.save(draft("d1", "hello"))
    await drafts.save(draft("d1", "hello", "more"))
    assert [len(d.lines) for d in await drafts.pending()] == [2]

    assert await drafts.update(draft("d1", "hello", "more", "again"))
    assert await drafts.discard("d1")
    assert not await drafts.discard("d1")
    assert not await drafts.update(draft("d1", "the forgotten lines"))
    assert await drafts.get("d1") is None
    assert await drafts.pending() == []


async def test_pending_is_oldest_activity_first_across_offsets(drafts: SqliteJournalDrafts) -> None:
    late_utc = draft("late", "x", minutes=30)
    # 09:10 UTC written as 10:10+01:00: sorts after "09:30" as text, before it as time.
    early_local = replace(draft("early", "y"), last_at=datetime(2026, 11, 24, 10, 10, tzinfo=OSLO))
    await drafts.save(late_utc)
    await drafts.save(early_local)
    assert [d.id for d in await drafts.pending()] == ["early", "late"]


@pytest.fixture
async def several(drafts: SqliteJournalDrafts) -> SqliteJournalDrafts:
    await drafts.save(draft("alice-dm", "I plan to move to Oslo", owners=(ALICE,)))
    await drafts.save(draft("lounge", "hello all", "I bake bread", owners=(ALICE, BOB), scope=LOUNGE))
    await drafts.save(draft("bob-dm", "my Oslo trip", owners=(BOB,)))
    return drafts


async def ids(drafts: SqliteJournalDrafts) -> set[str]:
    return {d.id for d in await drafts.pending()}


async def test_forget_a_person_drops_every_draft_they_took_part_in(several: SqliteJournalDrafts) -> None:
    assert await several.forget(frozenset({ALICE})) == 2
    assert await ids(several) == {"bob-dm"}


async def test_forget_a_phrase_drops_only_their_drafts_that_mention_it(several: SqliteJournalDrafts) -> None:
    assert await several.forget(frozenset({ALICE}), "  oSLO ") == 1
    assert await ids(several) == {"lounge", "bob-dm"}  # Bob's own Oslo is not Alice's to forget


async def test_forget_by_event_ids_drops_shared_drafts(several: SqliteJournalDrafts) -> None:
    assert await several.forget(frozenset({"terminal:carol"}), sources=frozenset({"lounge-ev1"})) == 1
    assert await ids(several) == {"alice-dm", "bob-dm"}


async def test_forget_of_no_one_drops_nothing(several: SqliteJournalDrafts) -> None:
    assert await several.forget(frozenset()) == 0
    assert len(await several.pending()) == 3


async def test_phrase_match_ignores_case_beyond_ascii(drafts: SqliteJournalDrafts) -> None:
    await drafts.save(draft("d1", "Notre ÉTÉ à Montréal"))
    assert await drafts.forget(frozenset({ALICE}), "été") == 1


async def test_the_journal_store_forgets_drafts_with_its_entries(db: Database) -> None:
    journal = SqliteJournalStore(db)
    await journal.start()
    await journal.drafts.save(draft("alice-dm", "a secret", owners=(ALICE,)))
    await journal.drafts.save(draft("bob-dm", "a secret too", owners=(BOB,)))
    assert await journal.forget(frozenset({ALICE}), "secret") == 0  # no entries yet: drafts only
    assert [d.id for d in await journal.drafts.pending()] == ["bob-dm"]
