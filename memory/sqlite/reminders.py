"""Reminders, check-in choices and voice-reply choices in SQLite (see memory.assistant).

Claiming is one UPDATE ... RETURNING over the due rows, so two processes on one database never
both take a reminder; a claim carries a lease, and a sender that died before marking its
reminder delivered loses it to the next claim once the lease runs out (at-least-once in that
window, which is one row update wide). Times are stored as epoch seconds, so SQL orders them.

The Database is owned (opened and closed) by the composition root.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from memory.assistant import Reminder
from memory.choices_sql import SqlCheckinStore, SqlVoiceChoices
from memory.sqlite.db import Database

_log = logging.getLogger(__name__)

SCHEMA_NAME = "reminders.v1"
DDL = """
CREATE TABLE IF NOT EXISTS reminders (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    text TEXT NOT NULL,
    due_ts REAL NOT NULL,
    zone TEXT NOT NULL,
    platform TEXT NOT NULL,
    room_id TEXT NOT NULL,
    thread_id TEXT,
    is_dm INTEGER NOT NULL,
    source_id TEXT NOT NULL,
    created_ts REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    not_before_ts REAL NOT NULL,
    holder TEXT,
    lease_until_ts REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_ts REAL
);
CREATE INDEX IF NOT EXISTS reminders_due ON reminders (state, not_before_ts);
CREATE INDEX IF NOT EXISTS reminders_owner ON reminders (owner, state);
CREATE TABLE IF NOT EXISTS checkins (
    owner TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    room_id TEXT NOT NULL,
    at_minute INTEGER NOT NULL,
    enabled INTEGER NOT NULL,
    last_day TEXT
);
CREATE TABLE IF NOT EXISTS voice_choices (
    key TEXT PRIMARY KEY,
    voice_on INTEGER NOT NULL
);
"""
COLUMNS = (
    "id, owner, text, due_ts, zone, platform, room_id, thread_id, is_dm, source_id, created_ts,"
    " state, attempts"
)
OPEN_STATES = "state IN ('pending', 'sending')"
_CLAIM = f"""
UPDATE reminders SET state = 'sending', holder = ?, lease_until_ts = ?
WHERE id IN (
    SELECT id FROM reminders
    WHERE (state = 'pending' AND not_before_ts <= ?) OR (state = 'sending' AND lease_until_ts < ?)
    ORDER BY not_before_ts LIMIT ?
)
RETURNING {COLUMNS}
"""


def epoch(at: datetime) -> float:
    return at.timestamp()


def from_epoch(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def row_to_reminder(row: Any) -> Reminder:
    return Reminder(
        id=row["id"],
        owner=row["owner"],
        text=row["text"],
        due_at=from_epoch(row["due_ts"]),
        zone=row["zone"],
        platform=row["platform"],
        room_id=row["room_id"],
        thread_id=row["thread_id"],
        is_dm=bool(row["is_dm"]),
        source_id=row["source_id"],
        created_at=from_epoch(row["created_ts"]),
        state=row["state"],
        attempts=row["attempts"],
    )


def _owners_sql(owners: frozenset[str]) -> tuple[str, list[Any]]:
    ordered = sorted(owners)
    return f"owner IN ({', '.join('?' * len(ordered))})" if ordered else "0", list(ordered)


class SqliteReminderStore:
    """ReminderStore on the shared Database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(self) -> None:
        await self._db.ensure_schema(SCHEMA_NAME, DDL)

    async def close(self) -> None:
        return None  # the Database belongs to the composition root

    async def add(self, reminder: Reminder) -> None:
        await self._db.execute(
            "INSERT OR IGNORE INTO reminders (id, owner, text, due_ts, zone, platform, room_id, thread_id,"
            " is_dm, source_id, created_ts, not_before_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                reminder.id, reminder.owner, reminder.text, epoch(reminder.due_at), reminder.zone,
                reminder.platform, reminder.room_id, reminder.thread_id, int(reminder.is_dm),
                reminder.source_id, epoch(reminder.created_at), epoch(reminder.due_at),
            ),
        )  # fmt: skip

    async def open_for(self, owners: frozenset[str]) -> list[Reminder]:
        where, params = _owners_sql(owners)
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM reminders WHERE {where} AND {OPEN_STATES} ORDER BY due_ts, id", params
        )
        return [row_to_reminder(r) for r in rows]

    async def cancel(self, owners: frozenset[str], reminder_id: str) -> Reminder | None:
        where, params = _owners_sql(owners)
        # Only a pending one: a reminder being sent right now can no longer be taken back.
        sql = (
            f"UPDATE reminders SET state = 'cancelled' WHERE id = ? AND {where} AND state = 'pending'"
            f" RETURNING {COLUMNS}"
        )
        async with self._db.transaction() as conn, conn.execute(sql, [reminder_id, *params]) as cur:
            row = await cur.fetchone()
        return row_to_reminder(row) if row is not None else None

    async def claim_due(self, now: datetime, *, holder: str, lease_s: float, limit: int) -> list[Reminder]:
        lease_until = epoch(now + timedelta(seconds=lease_s))
        params = (holder, lease_until, epoch(now), epoch(now), limit)
        async with self._db.transaction() as conn, conn.execute(_CLAIM, params) as cur:
            rows = await cur.fetchall()
        return sorted((row_to_reminder(r) for r in rows), key=lambda r: (r.due_at, r.id))

    async def delivered(self, reminder_id: str, holder: str, at: datetime) -> bool:
        changed = await self._db.execute(
            "UPDATE reminders SET state = 'delivered', delivered_ts = ?, lease_until_ts = NULL"
            " WHERE id = ? AND holder = ? AND state = 'sending'",
            (epoch(at), reminder_id, holder),
        )
        return changed == 1

    async def release(self, reminder_id: str, holder: str, *, retry_at: datetime) -> None:
        await self._db.execute(
            "UPDATE reminders SET state = 'pending', holder = NULL, lease_until_ts = NULL,"
            " not_before_ts = ?, attempts = attempts + 1 WHERE id = ? AND holder = ? AND state = 'sending'",
            (epoch(retry_at), reminder_id, holder),
        )

    async def next_due(self) -> datetime | None:
        row = await self._db.fetchone(
            "SELECT MIN(CASE WHEN state = 'pending' THEN not_before_ts ELSE lease_until_ts END) AS ts"
            f" FROM reminders WHERE {OPEN_STATES}"
        )
        return from_epoch(row["ts"]) if row is not None and row["ts"] is not None else None

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int:
        where, params = _owners_sql(owners)
        if phrase is not None:
            # instr on lower(): LIKE would read % and _ in the phrase as wildcards.
            where, params = f"{where} AND instr(lower(text), ?) > 0", [*params, phrase.lower()]
        return await self._db.execute(f"DELETE FROM reminders WHERE {where}", params)


class SqliteCheckinStore(SqlCheckinStore):
    """CheckinStore on the shared Database (its table is created by the reminders schema)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._db = db

    async def start(self) -> None:
        await self._db.ensure_schema(SCHEMA_NAME, DDL)


class SqliteVoiceChoices(SqlVoiceChoices):
    """VoiceChoices on the shared Database."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._db = db

    async def start(self) -> None:
        await self._db.ensure_schema(SCHEMA_NAME, DDL)
