"""What an operator looks across: every person and room the bot has memories of, and the journal
by day. The engine never reads these (a turn only ever sees one person's records); the web
dashboard does, behind its admin login.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from memory.records import JournalEntry


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonSummary:
    identity: str  # platform:user_id
    name: str  # the last display name seen ("" when unknown)
    memories: int  # long-term items owned
    last_seen: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomSummary:
    scope: str  # room:<platform>:<room_id>
    memories: int
    people: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DayCount:
    day: str  # YYYY-MM-DD (UTC)
    count: int


class Directory(Protocol):
    async def people(self, search: str = "", limit: int = 200) -> list[PersonSummary]:
        """People with memories, most recently seen first; `search` matches identity or name."""
        ...

    async def rooms(self, limit: int = 200) -> list[RoomSummary]:
        """Rooms with memories, busiest first."""
        ...

    async def memory_days(self, owners: frozenset[str] | None = None, days: int = 30) -> list[DayCount]:
        """Long-term items written per UTC day over the last `days` (of `owners`, or everyone)."""
        ...

    async def memory_count(self) -> int: ...

    async def journal_days(self, limit: int = 60) -> list[DayCount]:
        """Days that have journal entries, newest first."""
        ...

    async def journal_day(self, day: str) -> list[JournalEntry]:
        """Every persona's entries of one day, oldest first."""
        ...
