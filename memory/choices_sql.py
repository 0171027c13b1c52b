"""Check-in and voice-reply choices on any SQL store that runs `?` statements (SQLite's `Database`,
the Postgres pool, which numbers the placeholders): one set of statements and row readers for both;
only who creates the tables differs (SQLite at start, Postgres by its migrations)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from memory.assistant import CheckinChoice


class Statements(Protocol):
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any | None: ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...


def row_to_choice(row: Any) -> CheckinChoice:
    return CheckinChoice(
        owner=row["owner"],
        platform=row["platform"],
        room_id=row["room_id"],
        at_minute=row["at_minute"],
        enabled=bool(row["enabled"]),
        last_day=row["last_day"],
    )


class SqlCheckinStore:
    """CheckinStore over shared statements; the tables exist already (see the subclasses)."""

    def __init__(self, db: Statements) -> None:
        self._sql = db

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None  # the database belongs to the composition root

    async def choose(self, choice: CheckinChoice) -> None:
        await self._sql.execute(
            "INSERT INTO checkins (owner, platform, room_id, at_minute, enabled, last_day)"
            " VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT (owner) DO UPDATE SET platform = excluded.platform,"
            " room_id = excluded.room_id, at_minute = excluded.at_minute, enabled = excluded.enabled",
            (choice.owner, choice.platform, choice.room_id, choice.at_minute, int(choice.enabled)),
        )

    async def choice(self, owner: str) -> CheckinChoice | None:
        row = await self._sql.fetchone("SELECT * FROM checkins WHERE owner = ?", (owner,))
        return row_to_choice(row) if row is not None else None

    async def enabled(self) -> list[CheckinChoice]:
        rows = await self._sql.fetchall("SELECT * FROM checkins WHERE enabled = 1 ORDER BY owner")
        return [row_to_choice(r) for r in rows]

    async def claim_day(self, owner: str, day: str) -> bool:
        changed = await self._sql.execute(
            "UPDATE checkins SET last_day = ? WHERE owner = ? AND enabled = 1"
            " AND (last_day IS NULL OR last_day <> ?)",
            (day, owner, day),
        )
        return changed == 1


class SqlVoiceChoices:
    """VoiceChoices over shared statements; the table exists already (see the subclasses)."""

    def __init__(self, db: Statements) -> None:
        self._sql = db

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def set(self, key: str, on: bool) -> None:
        await self._sql.execute(
            "INSERT INTO voice_choices (key, voice_on) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET voice_on = excluded.voice_on",
            (key, int(on)),
        )

    async def get(self, key: str) -> bool | None:
        row = await self._sql.fetchone("SELECT voice_on FROM voice_choices WHERE key = ?", (key,))
        return bool(row["voice_on"]) if row is not None else None
