"""The journal store (SQLite FTS5, Postgres full-text search) and the Markdown journal files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memory.journal_files import JournalFiles
from memory.records import JournalEntry, Visibility
from tests.support.relational import JournalBackend, Relational

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ALICE, BOB = "terminal:alice", "terminal:bob"
LOUNGE = "room:terminal:lounge"


def seen_by(owner: str, scope: str, *, shared: bool = False) -> Visibility:
    return Visibility(owners=frozenset({owner}), scope=scope, room_shared=shared)


@pytest.fixture
async def store(relational: Relational) -> AsyncIterator[JournalBackend]:
    """The same contract on SQLite and on Postgres."""
    journal = await relational.journal()
    yield journal
    await journal.close()


def entry(eid: str, text: str, *, scope: str, owner: str | None, minutes: int = 0) -> JournalEntry:
    return JournalEntry(
        id=eid,
        persona="familiar",
        day="2026-11-24",
        kind="entry",
        text=text,
        scope=scope,
        created_at=T0 + timedelta(minutes=minutes),
        owner=owner,
        source_ids=(f"ev-{eid}",),
    )


@pytest.fixture
async def filled(store: JournalBackend) -> JournalBackend:
    await store.add(entry("j1", "Alice told me about her surgery.", scope="dm", owner=ALICE, minutes=1))
    await store.add(
        entry("j2", "The lounge argued about pizza toppings.", scope=LOUNGE, owner=None, minutes=2)
    )
    await store.add(entry("j3", "Bob asked about pizza in private.", scope="dm", owner=BOB, minutes=3))
    await store.add(
        entry("j4", "Alice chatted in the garden room.", scope="room:terminal:garden", owner=ALICE, minutes=4)
    )
    return store


async def test_recent_respects_scopes(filled: JournalBackend) -> None:
    alice_dm = [e.id for e in await filled.recent("familiar", seen_by(ALICE, "dm"), 10)]
    assert alice_dm == ["j1", "j4"]  # her DM entry and her own room entry; not the lounge, not Bob's DM
    alice_lounge = [e.id for e in await filled.recent("familiar", seen_by(ALICE, LOUNGE), 10)]
    assert alice_lounge == ["j4"]  # never her DM entry in a group room; the lounge's is not shared
    bob_lounge = [e.id for e in await filled.recent("familiar", seen_by(BOB, LOUNGE, shared=True), 10)]
    assert bob_lounge == ["j2"]  # the lounge's own entry, where the lounge shares
    assert [e.id for e in await filled.recent("familiar", seen_by(ALICE, "dm"), 1)] == ["j4"]
    assert await filled.recent("other-persona", seen_by(ALICE, "dm"), 10) == []


async def test_recent_since(filled: JournalBackend) -> None:
    later = await filled.recent("familiar", seen_by(ALICE, "dm"), 10, since=T0 + timedelta(minutes=2))
    assert [e.id for e in later] == ["j4"]


async def test_search_is_lexical_and_scoped(filled: JournalBackend) -> None:
    found = await filled.search("familiar", seen_by(BOB, LOUNGE, shared=True), "pizza", 5)
    assert [e.id for e in found] == ["j2"]  # Bob's own DM entry is not shown in the lounge
    found_dm = await filled.search("familiar", seen_by(BOB, "dm"), "pizza", 5)
    assert sorted(e.id for e in found_dm) == ["j3"]
    assert await filled.search("familiar", seen_by(BOB, "dm"), 'surgery" OR *', 5) == []
    assert await filled.search("familiar", seen_by(ALICE, "dm"), "  ", 5) == []
    assert [e.id for e in await filled.search("familiar", seen_by(ALICE, "dm"), "SURGERY", 5)] == ["j1"]


async def test_add_is_idempotent_and_day_lists_everything(filled: JournalBackend) -> None:
    await filled.add(entry("j1", "Alice told me about her surgery.", scope="dm", owner=ALICE, minutes=1))
    assert [e.id for e in await filled.day("familiar", "2026-11-24")] == ["j1", "j2", "j3", "j4"]
    assert len(await filled.search("familiar", seen_by(ALICE, "dm"), "surgery", 5)) == 1


async def test_forget_removes_from_listing_and_index(filled: JournalBackend) -> None:
    assert await filled.forget(frozenset({ALICE}), "SURGERY") == 1
    assert await filled.search("familiar", seen_by(ALICE, "dm"), "surgery", 5) == []
    assert await filled.forget(frozenset({ALICE})) == 1
    assert [e.id for e in await filled.day("familiar", "2026-11-24")] == ["j2", "j3"]
    assert [e.id for e in await filled.search("familiar", seen_by(BOB, "dm"), "pizza", 5)] == ["j3"]


async def test_markdown_files_append_once_per_entry(tmp_path: Path) -> None:
    files = JournalFiles(tmp_path / "data")
    first = entry("j1", "Alice told me about her surgery.", scope="dm", owner=ALICE)
    second = entry("j2", "The lounge argued about pizza.", scope=LOUNGE, owner=None, minutes=30)
    await files.append(first)
    await files.append(second)
    await files.append(first)  # a retried job
    path = tmp_path / "data" / "journal" / "familiar" / "2026-11-24.md"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# familiar — journal for 2026-11-24\n")
    assert text.count("Alice told me about her surgery.") == 1
    assert text.index("surgery") < text.index("pizza")
    assert "## 09:00 · Entry · private (DM) · terminal:alice" in text
    assert f"## 09:30 · Entry · {LOUNGE}" in text
    assert await files.read("familiar", "2026-11-25") == ""
    assert files.path_for("../etc", "2026-11-24").is_relative_to(tmp_path / "data" / "journal")


async def test_other_peoples_entries_never_crowd_out_visible_ones(filled: JournalBackend) -> None:
    for i in range(60):
        await filled.add(
            entry(f"b{i}", f"Bob's private pizza note {i}", scope="dm", owner=BOB, minutes=10 + i)
        )
    assert [e.id for e in await filled.recent("familiar", seen_by(ALICE, "dm"), 1)] == ["j4"]
    found = await filled.search("familiar", seen_by(ALICE, LOUNGE, shared=True), "pizza", 1)
    assert [e.id for e in found] == ["j2"]


async def test_ones_own_entry_is_not_hidden_behind_newer_entries_by_someone_else(
    store: JournalBackend,
) -> None:
    await store.add(entry("mine", "Alice planned the lounge quiz.", scope=LOUNGE, owner=ALICE, minutes=1))
    for i in range(3):
        await store.add(entry(f"bob{i}", f"Bob's lounge chat {i}.", scope=LOUNGE, owner=BOB, minutes=2 + i))

    assert [e.id for e in await store.recent("familiar", seen_by(ALICE, LOUNGE), 3)] == ["mine"]
    assert [e.id for e in await store.search("familiar", seen_by(ALICE, LOUNGE), "lounge", 1)] == ["mine"]


async def test_a_rooms_entries_by_others_are_shown_only_where_the_room_shares(
    store: JournalBackend,
) -> None:
    await store.add(entry("bob", "Bob told the lounge about his move.", scope=LOUNGE, owner=BOB))
    await store.add(entry("group", "The lounge argued about the move.", scope=LOUNGE, owner=None))

    assert await store.recent("familiar", seen_by(ALICE, LOUNGE), 10) == []
    assert await store.search("familiar", seen_by(ALICE, LOUNGE), "move", 10) == []
    shared = await store.recent("familiar", seen_by(ALICE, LOUNGE, shared=True), 10)
    assert [e.id for e in shared] == ["bob", "group"]
    assert await store.recent("familiar", seen_by(ALICE, "room:terminal:garden", shared=True), 10) == []
    assert await store.recent("familiar", seen_by(ALICE, "dm"), 10) == []


async def test_forgotten_entries_leave_the_markdown_files_too(tmp_path: Path, relational: Relational) -> None:
    files = JournalFiles(tmp_path)
    store = await relational.journal(files=files)
    at = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    kept = JournalEntry(
        id="keep",
        persona="p",
        day="2026-11-24",
        kind="entry",
        text="Bob baked bread.",
        scope="room:discord:1",
        created_at=at,
        owner="discord:bob",
        source_ids=("b1",),
    )
    shared = JournalEntry(
        id="shared",
        persona="p",
        day="2026-11-24",
        kind="entry",
        text="Alice's cat Miso napped.",
        scope="room:discord:1",
        created_at=at,
        owner=None,
        source_ids=("a1", "b2"),
    )
    for entry in (kept, shared):
        await store.add(entry)
        await files.append(entry)

    assert await store.forget(frozenset({"discord:alice"}), "miso", sources=frozenset({"a1"})) == 1

    text = await files.read("p", "2026-11-24")
    assert "Miso" not in text
    assert "Bob baked bread." in text
