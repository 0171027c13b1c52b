"""Gathering with a real journal store: the store and the final filter apply the same rule, so
the store's LIMIT never spends the person's places on entries the prompt may not show."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from memory.records import JournalEntry
from memory.sqlite.db import Database
from memory.sqlite.journal import SqliteJournalStore
from persona.gather import GatherRequest, gather_context
from persona.personas import MemoryKnobs, PersonaSpec
from persona.settings import SourceDeadlines
from tests.fakes.stores import make_stores

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
ALICE, BOB = "terminal:alice", "terminal:bob"
LOUNGE = "room:terminal:lounge"


def persona(*, room_shared: bool) -> PersonaSpec:
    knobs = MemoryKnobs(journal_entries=3, room_shared=room_shared)
    return PersonaSpec(name="familiar", system_prompt="You are kind.", model="m", memory=knobs)


def entry(entry_id: str, owner: str, hours_ago: int) -> JournalEntry:
    return JournalEntry(
        id=entry_id,
        persona="familiar",
        day=NOW.date().isoformat(),
        kind="entry",
        text=f"{entry_id} in the lounge",
        scope=LOUNGE,
        created_at=NOW - timedelta(hours=hours_ago),
        owner=owner,
    )


async def _journal_seen_by_alice(db: Database, *, room_shared: bool) -> list[str]:
    journal = SqliteJournalStore(db)
    await journal.start()
    await journal.add(entry("alice-quiz", ALICE, hours_ago=5))
    for i in range(3):  # three newer entries, each about Bob alone
        await journal.add(entry(f"bob-{i}", BOB, hours_ago=3 - i))
    request = GatherRequest(
        identity=ALICE,
        scope=LOUNGE,
        room_scope=LOUNGE,
        session="terminal:lounge:-:*",
        query="what did we plan?",
        persona=persona(room_shared=room_shared),
        now=NOW,
        is_dm=False,
    )
    stores = replace(make_stores(), journal=journal)  # the real store; fakes for the rest
    gathered = await gather_context(stores, request, SourceDeadlines(), Counter())
    return [e.id for e in gathered.journal]


async def test_ones_own_journal_entry_is_not_hidden_behind_three_newer_ones_by_someone_else(
    db: Database,
) -> None:
    assert await _journal_seen_by_alice(db, room_shared=False) == ["alice-quiz"]


async def test_where_the_room_shares_the_newest_entries_of_the_room_are_gathered(db: Database) -> None:
    assert await _journal_seen_by_alice(db, room_shared=True) == ["bob-0", "bob-1", "bob-2"]
