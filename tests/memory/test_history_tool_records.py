"""Tool calls and results in history: a record kind next to messages, on SQLite and Redis, with
rows written before the kind existed still read (as messages)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from redis.asyncio import Redis

from memory.postgres.history import PostgresHistoryStore
from memory.postgres.pool import PostgresDatabase
from memory.records import Turn, TurnKind
from memory.redis.history import RedisHistoryStore
from memory.sqlite.db import Database
from memory.sqlite.history import SqliteHistoryStore
from memory.visibility import Visibility

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ALICE = Visibility(owners=frozenset({"discord:1"}), scope="dm")
OLD_DDL = """
CREATE TABLE history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, session TEXT NOT NULL,
    role TEXT NOT NULL, owner TEXT NOT NULL, author_name TEXT NOT NULL, text TEXT NOT NULL,
    created_at TEXT NOT NULL, created_ts REAL NOT NULL, scope TEXT NOT NULL, platform TEXT NOT NULL,
    room_id TEXT NOT NULL, thread_id TEXT, persona TEXT NOT NULL DEFAULT ''
);
"""


def turn(event_id: str, kind: TurnKind = "message") -> Turn:
    return Turn(
        event_id=event_id,
        session="s",
        role="assistant" if kind != "message" else "user",
        owner="discord:1",
        author_name="Alice",
        text=f"text of {event_id}",
        created_at=AT,
        scope="dm",
        platform="discord",
        room_id="dm-1",
        kind=kind,
    )


async def test_sqlite_keeps_tool_records_and_reads_a_table_from_before_them(db: Database) -> None:
    await db.conn.executescript(OLD_DDL)
    await db.conn.execute(
        "INSERT INTO history (event_id, session, role, owner, author_name, text, created_at, created_ts,"
        " scope, platform, room_id) VALUES ('old', 's', 'user', 'discord:1', 'Alice', 'an old line',"
        " ?, 0, 'dm', 'discord', 'dm-1')",
        (AT.isoformat(),),
    )
    await db.conn.commit()
    history = SqliteHistoryStore(db)
    await history.start()
    await history.append([turn("e1:tool:0:call", "tool_call"), turn("e1:tool:0:result", "tool_result")])
    kinds = {t.event_id: t.kind for t in await history.recent("s", 10, visibility=ALICE)}
    assert kinds == {"old": "message", "e1:tool:0:call": "tool_call", "e1:tool:0:result": "tool_result"}


async def test_redis_keeps_tool_records_and_reads_rows_from_before_them(redis_client: Redis) -> None:
    history = RedisHistoryStore(redis_client)
    await history.append([turn("old")])
    # A row as an earlier version wrote it: no "kind" in its JSON.
    (key,) = [k for k in await redis_client.keys("*") if await redis_client.type(k) == b"zset"]
    (member,) = await redis_client.zrange(key, 0, -1)
    prefix, body = member[:16], json.loads(member[16:])
    body.pop("kind")
    await redis_client.zrem(key, member)
    await redis_client.zadd(key, {prefix + json.dumps(body).encode(): 0})
    await history.append([turn("e1:tool:0:call", "tool_call")])
    kinds = {t.event_id: t.kind for t in await history.recent("s", 10, visibility=ALICE)}
    assert kinds == {"old": "message", "e1:tool:0:call": "tool_call"}


async def test_postgres_keeps_tool_records_beside_messages(pg_db: PostgresDatabase) -> None:
    history = PostgresHistoryStore(pg_db)
    await history.append(
        [turn("old"), turn("e1:tool:0:call", "tool_call"), turn("e1:tool:0:result", "tool_result")]
    )
    kinds = {t.event_id: t.kind for t in await history.recent("s", 10, visibility=ALICE)}
    assert kinds == {"old": "message", "e1:tool:0:call": "tool_call", "e1:tool:0:result": "tool_result"}
    assert [t.kind for t in await history.export(frozenset({"discord:1"}))].count("tool_call") == 1
