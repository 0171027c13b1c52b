"""`Directory` over the shared SQLite database: people and rooms from the long-term item table
(every message is kept there, whatever store holds recent history), names from SQLite history
when it is there, the journal by day from the journal table."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from memory.directory import DayCount, PersonSummary, RoomSummary
from memory.records import JournalEntry
from memory.sqlite.db import Database
from memory.sqlite.journal import row_to_entry

_log = logging.getLogger(__name__)

_PEOPLE = """
SELECT owner, COUNT(*) AS n, MAX(ts) AS last_ts FROM ltm_items
WHERE role = 'user' GROUP BY owner ORDER BY last_ts DESC
"""
_NAMES = "SELECT owner, author_name FROM history WHERE role = 'user' ORDER BY seq"
_ROOMS = """
SELECT scope, COUNT(*) AS n, COUNT(DISTINCT owner) AS people FROM ltm_items
WHERE scope LIKE 'room:%' GROUP BY scope ORDER BY n DESC LIMIT ?
"""


class SqliteDirectory:
    """Reads only; the tables belong to the stores that write them (opened before this)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def people(self, search: str = "", limit: int = 200) -> list[PersonSummary]:
        names = await self._names()
        needle = search.strip().lower()
        rows = await self._db.fetchall(_PEOPLE)
        found = [
            PersonSummary(
                identity=row["owner"],
                name=names.get(row["owner"], ""),
                memories=row["n"],
                last_seen=datetime.fromtimestamp(row["last_ts"], UTC),
            )
            for row in rows
        ]
        if needle:
            found = [p for p in found if needle in p.identity.lower() or needle in p.name.lower()]
        return found[:limit]

    async def _names(self) -> dict[str, str]:
        try:
            rows = await self._db.fetchall(_NAMES)
        except Exception:  # history lives in Redis: no table here, so no names
            _log.debug("no SQLite history to read names from", exc_info=True)
            return {}
        return {row["owner"]: row["author_name"] for row in rows}  # the last name seen wins

    async def rooms(self, limit: int = 200) -> list[RoomSummary]:
        rows = await self._db.fetchall(_ROOMS, (limit,))
        return [RoomSummary(scope=r["scope"], memories=r["n"], people=r["people"]) for r in rows]

    async def memory_days(self, owners: frozenset[str] | None = None, days: int = 30) -> list[DayCount]:
        since = (datetime.now(UTC) - timedelta(days=days)).timestamp()
        sql = "SELECT date(ts, 'unixepoch') AS day, COUNT(*) AS n FROM ltm_items WHERE ts >= ?"
        params: list[object] = [since]
        if owners is not None:
            sql += f" AND owner IN ({','.join('?' * len(owners))})"
            params += sorted(owners)
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
        rows = await self._db.fetchall("SELECT * FROM journal WHERE day = ? ORDER BY created_at", (day,))
        return [row_to_entry(row) for row in rows]

    async def close(self) -> None:
        return None
