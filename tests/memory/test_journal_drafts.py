"""Journal drafts on SQLite and on Postgres: pending journal conversations that outlive the process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from memory.records import DraftLine, JournalDraft
from tests.support.relational import DraftsBackend, Relational

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
OSLO = timezone(timedelta(hours=1))
ALICE, BOB = "terminal:alice", "terminal:bob"
LOUNGE = "room:terminal:lounge"


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
async def drafts(relational: Relational) -> AsyncIterator[DraftsBackend]:
    """The same contract on SQLite and on Postgres."""
    store = await relational.drafts()
    yield store
    await store.close()
    await store.close()  # idempotent


async def test_a_draft_reads_back_exactly_after_reopening(relational: Relational) -> None:
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
    await (await relational.drafts()).save(saved)
    [got] = await (await (await relational.reopened()).drafts()).pending()  # another process
    assert got == saved
    # The journal prompt shows each line's time as it was said, not converted.
    assert [line.at.strftime("%H:%M") for line in got.lines] == ["23:50", "23:50"]
    assert got.last_at.utcoffset() == timedelta(hours=1)


async def test_save_replaces_and_update_never_resurrects(drafts: DraftsBackend) -> None:
    await drafts.save(draft("d1", "hello"))
    await drafts.save(draft("d1", "hello", "more"))
    assert [len(d.lines) for d in await drafts.pending()] == [2]

    assert await drafts.update(draft("d1", "hello", "more", "again"))
    assert await drafts.discard("d1")
    assert not await drafts.discard("d1")
    assert not await drafts.update(draft("d1", "the forgotten lines"))
    assert await drafts.get("d1") is None
    assert await drafts.pending() == []


async def test_pending_is_oldest_activity_first_across_offsets(drafts: DraftsBackend) -> None:
    late_utc = draft("late", "x", minutes=30)
    # 09:10 UTC written as 10:10+01:00: sorts after "09:30" as text, before it as time.
    early_local = replace(draft("early", "y"), last_at=datetime(2026, 11, 24, 10, 10, tzinfo=OSLO))
    await drafts.save(late_utc)
    await drafts.save(early_local)
    assert [d.id for d in await drafts.pending()] == ["early", "late"]


@pytest.fixture
async def several(drafts: DraftsBackend) -> DraftsBackend:
    await drafts.save(draft("alice-dm", "I plan to move to Oslo", owners=(ALICE,)))
    await drafts.save(draft("lounge", "hello all", "I bake bread", owners=(ALICE, BOB), scope=LOUNGE))
    await drafts.save(draft("bob-dm", "my Oslo trip", owners=(BOB,)))
    return drafts


async def ids(drafts: DraftsBackend) -> set[str]:
    return {d.id for d in await drafts.pending()}


async def test_forget_a_person_drops_every_draft_they_took_part_in(several: DraftsBackend) -> None:
    assert await several.forget(frozenset({ALICE})) == 2
    assert await ids(several) == {"bob-dm"}


async def test_forget_a_phrase_drops_only_their_drafts_that_mention_it(several: DraftsBackend) -> None:
    assert await several.forget(frozenset({ALICE}), "  oSLO ") == 1
    assert await ids(several) == {"lounge", "bob-dm"}  # Bob's own Oslo is not Alice's to forget


async def test_forget_by_event_ids_drops_shared_drafts(several: DraftsBackend) -> None:
    assert await several.forget(frozenset({"terminal:carol"}), sources=frozenset({"lounge-ev1"})) == 1
    assert await ids(several) == {"alice-dm", "bob-dm"}


async def test_forget_of_no_one_drops_nothing(several: DraftsBackend) -> None:
    assert await several.forget(frozenset()) == 0
    assert len(await several.pending()) == 3


async def test_phrase_match_ignores_case_beyond_ascii(drafts: DraftsBackend) -> None:
    await drafts.save(draft("d1", "Notre ÉTÉ à Montréal"))
    assert await drafts.forget(frozenset({ALICE}), "été") == 1


async def test_the_journal_store_forgets_drafts_with_its_entries(relational: Relational) -> None:
    journal = await relational.journal()
    await journal.drafts.save(draft("alice-dm", "a secret", owners=(ALICE,)))
    await journal.drafts.save(draft("bob-dm", "a secret too", owners=(BOB,)))
    assert await journal.forget(frozenset({ALICE}), "secret") == 0  # no entries yet: drafts only
    assert [d.id for d in await journal.drafts.pending()] == ["bob-dm"]
