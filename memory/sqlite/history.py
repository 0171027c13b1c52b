"""Recent conversation history in SQLite: one row per turn, newest last per session.

Ordering is by `created_at`, ties broken by insertion order, so a turn stored late by the
background queue still lands where it happened. Appends are idempotent on `event_id`, which
lets the background queue retry a job without duplicating history.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from memory.records import Turn
from memory.sqlite.db import Database
from memory.visibility import Visibility

_log = logging.getLogger(__name__)

SCHEMA_NAME = "history"
DDL = """
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    session TEXT NOT NULL,
    role TEXT NOT NULL,
    owner TEXT NOT NULL,
    author_name TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_ts REAL NOT NULL,
    scope TEXT NOT NULL,
    platform TEXT NOT NULL,
    room_id TEXT NOT NULL,
    thread_id TEXT,
    persona TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'message'
);
CREATE INDEX IF NOT EXISTS history_session_time ON history (session, created_ts, seq);
CREATE INDEX IF NOT EXISTS history_owner ON history (owner);
"""

_COLUMNS = (
    "event_id, session, role, owner, author_name, text, created_at, created_ts,"
    " scope, platform, room_id, thread_id, persona, kind"
)
# Columns a table made by an earlier version lacks: its rows are all messages.
_ADDED_COLUMNS = {"kind": "ALTER TABLE history ADD COLUMN kind TEXT NOT NULL DEFAULT 'message'"}
# SQLite allows 999+ bound parameters per statement; stay well below for IN (...) lists.
_CHUNK = 500


def timestamp(moment: datetime) -> float:
    """Epoch seconds for ordering; naive datetimes are taken as UTC so mixed inputs still sort."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def matches(text: str, phrase: str | None) -> bool:
    """Case-insensitive substring test shared by every backend (Unicode-aware, unlike SQL LIKE)."""
    return phrase is None or phrase.casefold() in text.casefold()


def row_values(turn: Turn) -> tuple[Any, ...]:
    return (
        turn.event_id,
        turn.session,
        turn.role,
        turn.owner,
        turn.author_name,
        turn.text,
        turn.created_at.isoformat(),
        timestamp(turn.created_at),
        turn.scope,
        turn.platform,
        turn.room_id,
        turn.thread_id,
        turn.persona,
        turn.kind,
    )


def row_to_turn(row: Any) -> Turn:
    """A turn from its row (a SQLite or a Postgres one: both are read by column name)."""
    return Turn(
        event_id=row["event_id"],
        session=row["session"],
        role=row["role"],
        owner=row["owner"],
        author_name=row["author_name"],
        text=row["text"],
        created_at=datetime.fromisoformat(row["created_at"]),
        scope=row["scope"],
        platform=row["platform"],
        room_id=row["room_id"],
        thread_id=row["thread_id"],
        persona=row["persona"],
        kind=row["kind"],
    )


def _placeholders(count: int) -> str:
    return ",".join("?" * count)


class SqliteHistoryStore:
    """`HistoryStore` on the shared `Database`; never closes the database itself."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(self) -> None:
        await self._db.ensure_schema(SCHEMA_NAME, DDL)
        columns = {str(r[1]) for r in await self._db.fetchall("PRAGMA table_info(history)")}
        for name, ddl in _ADDED_COLUMNS.items():
            if name not in columns:
                await self._db.execute(ddl)

    async def close(self) -> None:
        """Nothing to release: the Database belongs to the composition root."""

    @property
    def db(self) -> Database:
        return self._db

    async def append(self, turns: Sequence[Turn]) -> None:
        if not turns:
            return
        async with self._db.transaction() as conn:
            await append_in(conn, turns)

    async def recent(self, session: str, limit: int, *, visibility: Visibility) -> list[Turn]:
        if limit <= 0:
            return []
        where, params = visibility.conversation().sql()
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM history WHERE session = ? AND {where}"
            " ORDER BY created_ts DESC, seq DESC LIMIT ?",
            (session, *params, limit),
        )
        return [row_to_turn(row) for row in reversed(rows)]

    async def export(self, owners: frozenset[str]) -> list[Turn]:
        return [row_to_turn(row) for row in await _select_owned(self._db.conn, owners)]

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int:
        # Matching happens in Python: SQLite's LIKE/lower() fold ASCII only, and every backend
        # must forget exactly the same turns for the same phrase. Read and delete share the
        # write transaction, so a turn appended meanwhile cannot slip between them.
        deleted = 0
        async with self._db.transaction() as conn:
            rows = await _select_owned(conn, owners)
            doomed = [row["seq"] for row in rows if matches(row["text"], phrase)]
            for start in range(0, len(doomed), _CHUNK):
                chunk = doomed[start : start + _CHUNK]
                sql = f"DELETE FROM history WHERE seq IN ({_placeholders(len(chunk))})"
                async with conn.execute(sql, chunk) as cur:
                    deleted += cur.rowcount
        _log.info("forgot %s history turns for %s identities", deleted, len(owners))
        return deleted


async def append_in(conn: aiosqlite.Connection, turns: Sequence[Turn]) -> None:
    """Append inside the caller's transaction (the outbox commits a turn's rows with its work)."""
    await conn.executemany(
        f"INSERT OR IGNORE INTO history ({_COLUMNS}) VALUES ({_placeholders(14)})",
        [row_values(turn) for turn in turns],
    )


async def _select_owned(conn: aiosqlite.Connection, owners: frozenset[str]) -> list[aiosqlite.Row]:
    """The owners' turns, oldest first."""
    if not owners:
        return []
    ordered = sorted(owners)
    sql = (
        f"SELECT seq, {_COLUMNS} FROM history WHERE owner IN ({_placeholders(len(ordered))})"
        " ORDER BY created_ts, seq"
    )
    async with conn.execute(sql, ordered) as cur:
        return list(await cur.fetchall())
