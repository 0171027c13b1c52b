"""Recent conversation history in Postgres: the same rows, order and idempotence as SQLite's."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from memory.postgres.pool import Connection, PostgresDatabase
from memory.records import Turn
from memory.sqlite.history import matches, row_to_turn, row_values
from memory.visibility import Visibility

_log = logging.getLogger(__name__)

_COLUMNS = (
    "event_id, session, role, owner, author_name, text, created_at, created_ts,"
    " scope, platform, room_id, thread_id, persona, kind"
)
_INSERT = (
    f"INSERT INTO history ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (event_id) DO NOTHING"
)


class PostgresHistoryStore:
    """`HistoryStore` on the shared pool; never closes the pool itself."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    @property
    def db(self) -> PostgresDatabase:
        return self._db

    async def start(self) -> None:
        """The schema is migrated when the pool opens."""

    async def close(self) -> None:
        """Nothing to release: the pool belongs to the composition root."""

    async def append(self, turns: Sequence[Turn]) -> None:
        if turns:
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
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM history WHERE owner = ANY(?) ORDER BY created_ts, seq", (sorted(owners),)
        )
        return [row_to_turn(row) for row in rows]

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int:
        # Matched in Python, as every backend does, so the same phrase forgets the same turns.
        async with self._db.transaction() as conn:
            rows = await conn.fetchall(
                "SELECT seq, text FROM history WHERE owner = ANY(?) FOR UPDATE", (sorted(owners),)
            )
            doomed = [row["seq"] for row in rows if matches(row["text"], phrase)]
            deleted = await conn.execute("DELETE FROM history WHERE seq = ANY(?)", (doomed,)) if doomed else 0
        _log.info("forgot %s history turns for %s identities", deleted, len(owners))
        return deleted


async def append_in(conn: Connection, turns: Sequence[Turn]) -> None:
    """Append inside the caller's transaction (the outbox commits a turn's rows with its work)."""
    await conn.executemany(_INSERT, [row_values(turn) for turn in turns])
