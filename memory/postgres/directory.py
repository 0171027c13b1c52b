"""`Directory` over Postgres: the same reads as the SQLite one, on the shared pool (with
DATABASE_URL every table the operator's pages read lives there)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from memory.directory import DayCount, PersonSummary, RoomSummary
from memory.postgres.pool import PostgresDatabase
from memory.records import JournalEntry
from memory.sqlite.journal import row_to_entry

_log = logging.getLogger(__name__)

_PEOPLE = """
SELECT owner, COUNT(*) AS n, MAX(ts) AS last_ts FROM ltm_items
WHERE role = 'user' GROUP BY owner ORDER BY last_ts DESC
"""
# The newest name a person was seen with, per person.
_NAMES = """
SELECT DISTINCT ON (owner) owner, author_name FROM history WHERE role = 'user' ORDER BY owner, seq DESC
"""
_ROOMS = """
SELECT scope, COUNT(*) AS n, COUNT(DISTINCT owner) AS people FROM ltm_items
WHERE scope LIKE 'room:%' GROUP BY scope ORDER BY n DESC LIMIT ?
"""
_DAY = "to_char(to_timestamp(ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


class PostgresDirectory:
    """Reads only; the tables belong to the stores that write them."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def people(self, search: str = "", limit: int = 200) -> list[PersonSummary]:
        names = {row["owner"]: row["author_name"] for row in await self._db.fetchall(_NAMES)}
        needle = search.strip().lower()
        found = [
            PersonSummary(
                identity=row["owner"],
                name=names.get(row["owner"], ""),
                memories=row["n"],
                last_seen=datetime.fromtimestamp(row["last_ts"], UTC),
            )
            for row in await self._db.fetchall(_PEOPLE)
        ]
        if needle:
            found = [p for p in found if needle in p.identity.lower() or needle in p.name.lower()]
        return found[:limit]

    async def rooms(self, limit: int = 200) -> list[RoomSummary]:
        rows = await self._db.fetchall(_ROOMS, (limit,))
        return [RoomSummary(scope=r["scope"], memories=r["n"], people=r["people"]) for r in rows]

    async def memory_days(self, owners: frozenset[str] | None = None, days: int = 30) -> list[DayCount]:
        since = (datetime.now(UTC) - timedelta(days=days)).timestamp()
        sql = f"SELECT {_DAY} AS day, COUNT(*) AS n FROM ltm_items WHERE ts >= ?"
        params: list[object] = [since]
        if owners is not None:
            sql += " AND owner = ANY(?)"
            params.append(sorted(owners))
        rows = await self._db.fetchall(sql + " GROUP BY day ORDER BY day", params)
        return [DayCount(day=r["day"], count=r["n"]) for r in rows]

    async def memory_count(self) -> int:
        row = await self._db.fetchone("SELECT COUNT(*) AS n FROM ltm_items")
        return int(row["n"]) if row is not None else 0

    async def journal_days(self, limit: int = 60) -> list[DayCount]:
        sql = "SELECT day, COUNT(*) AS n FROM journal GROUP BY day ORDER BY day DESC LIMIT ?"
        rows = await self._db.fetchall(sql, (limit,))
        return [DayCount(day=r["day"], count=r["n"]) for r in rows]

    async def journal_day(self, day: str) -> list[JournalEntry]:
        rows = await self._db.fetchall(
            "SELECT id, persona, day, kind, text, scope, created_at, owner, source_ids FROM journal"
            " WHERE day = ? ORDER BY created_at",
            (day,),
        )
        return [row_to_entry(row) for row in rows]

    async def close(self) -> None:
        return None
