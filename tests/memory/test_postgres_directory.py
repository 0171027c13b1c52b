"""The operator's directory on Postgres reads people, rooms, memory days and the journal by day
from the same tables the stores write (with DATABASE_URL the dashboard has no SQLite to read)."""

from __future__ import annotations

from datetime import UTC, datetime

from memory.postgres.directory import PostgresDirectory
from memory.postgres.history import PostgresHistoryStore
from memory.postgres.pool import PostgresDatabase
from memory.records import Turn

NOW = datetime.now(UTC)


async def _item(db: PostgresDatabase, item_id: str, owner: str, scope: str) -> None:
    await db.execute(
        "INSERT INTO ltm_items (id, owner, scope, role, text, ts, created_at, source_ids, platform, room_id,"
        " persona, vec) VALUES (?, ?, ?, 'user', 'a line', ?, ?, '[]', 'discord', 'r1', '', ?)",
        (item_id, owner, scope, NOW.timestamp(), NOW.isoformat(), b"\x00" * 8),
    )


async def test_people_rooms_days_and_the_journal_come_from_postgres(pg_db: PostgresDatabase) -> None:
    for n, (owner, scope) in enumerate(
        [("discord:1", "dm"), ("discord:1", "room:discord:r1"), ("discord:2", "room:discord:r1")]
    ):
        await _item(pg_db, f"i{n}", owner, scope)
    await PostgresHistoryStore(pg_db).append(
        [
            Turn(
                event_id=f"e{n}",
                session="s",
                role="user",
                owner="discord:1",
                author_name=name,
                text="hi",
                created_at=NOW,
                scope="dm",
                platform="discord",
                room_id="r1",
            )
            for n, name in enumerate(["Ali", "Alice"])
        ]
    )
    await pg_db.execute(
        "INSERT INTO journal (id, persona, day, kind, text, scope, created_at, owner, source_ids)"
        " VALUES ('j1', 'juniper', '2026-12-01', 'entry', ?, 'dm', ?, 'discord:1', '[]')",
        ("Alice told me about her move.", NOW.isoformat()),
    )
    directory = PostgresDirectory(pg_db)
    people = {p.identity: p for p in await directory.people()}
    assert people["discord:1"].name == "Alice"  # the newest name seen
    assert people["discord:1"].memories == 2
    assert [p.identity for p in await directory.people(search="alice")] == ["discord:1"]
    [room] = await directory.rooms()
    assert (room.scope, room.memories, room.people) == ("room:discord:r1", 2, 2)
    assert sum(d.count for d in await directory.memory_days(frozenset({"discord:2"}))) == 1
    assert await directory.memory_count() == 3
    [day] = await directory.journal_days()
    assert (day.day, day.count) == ("2026-12-01", 1)
    [entry] = await directory.journal_day("2026-12-01")
    assert entry.text == "Alice told me about her move."
