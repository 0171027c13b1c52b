"""Reminders, check-in choices and voice-reply choices in Postgres: the SQLite stores' rows and rules.

Claiming is one UPDATE ... RETURNING over due rows picked `FOR UPDATE SKIP LOCKED`, so processes
sharing the database never both take a reminder (a plain `id IN (SELECT ...)` would let a second
claimer re-check only the id and take it again); a claim carries a lease, as on SQLite.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from memory.assistant import Reminder
from memory.choices_sql import SqlCheckinStore, SqlVoiceChoices
from memory.postgres.pool import PostgresDatabase
from memory.sqlite.reminders import COLUMNS, OPEN_STATES, epoch, from_epoch, row_to_reminder

_log = logging.getLogger(__name__)

_CLAIM = f"""
UPDATE reminders SET state = 'sending', holder = ?, lease_until_ts = ?
WHERE id IN (
    SELECT id FROM reminders
    WHERE (state = 'pending' AND not_before_ts <= ?) OR (state = 'sending' AND lease_until_ts < ?)
    ORDER BY not_before_ts LIMIT ?
    FOR UPDATE SKIP LOCKED
)
RETURNING {COLUMNS}
"""


class PostgresReminderStore:
    """ReminderStore on the shared pool; the schema is migrated when the pool opens."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None  # the pool belongs to the composition root

    async def add(self, reminder: Reminder) -> None:
        await self._db.execute(
            "INSERT INTO reminders (id, owner, text, due_ts, zone, platform, room_id, thread_id,"
            " is_dm, source_id, created_ts, not_before_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            (
                reminder.id, reminder.owner, reminder.text, epoch(reminder.due_at), reminder.zone,
                reminder.platform, reminder.room_id, reminder.thread_id, int(reminder.is_dm),
                reminder.source_id, epoch(reminder.created_at), epoch(reminder.due_at),
            ),
        )  # fmt: skip

    async def open_for(self, owners: frozenset[str]) -> list[Reminder]:
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM reminders WHERE owner = ANY(?) AND {OPEN_STATES} ORDER BY due_ts, id",
            (sorted(owners),),
        )
        return [row_to_reminder(r) for r in rows]

    async def cancel(self, owners: frozenset[str], reminder_id: str) -> Reminder | None:
        # Only a pending one: a reminder being sent right now can no longer be taken back.
        row = await self._db.fetchone(
            "UPDATE reminders SET state = 'cancelled' WHERE id = ? AND owner = ANY(?) AND state = 'pending'"
            f" RETURNING {COLUMNS}",
            (reminder_id, sorted(owners)),
        )
        return row_to_reminder(row) if row is not None else None

    async def claim_due(self, now: datetime, *, holder: str, lease_s: float, limit: int) -> list[Reminder]:
        lease_until = epoch(now + timedelta(seconds=lease_s))
        rows = await self._db.fetchall(_CLAIM, (holder, lease_until, epoch(now), epoch(now), limit))
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
        if phrase is None:
            return await self._db.execute("DELETE FROM reminders WHERE owner = ANY(?)", (sorted(owners),))
        # strpos on lower(): LIKE would read % and _ in the phrase as wildcards.
        return await self._db.execute(
            "DELETE FROM reminders WHERE owner = ANY(?) AND strpos(lower(text), ?) > 0",
            (sorted(owners), phrase.lower()),
        )


class PostgresCheckinStore(SqlCheckinStore):
    """CheckinStore on the shared pool (its table comes with the migrations)."""


class PostgresVoiceChoices(SqlVoiceChoices):
    """VoiceChoices on the shared pool (its table comes with the migrations)."""
