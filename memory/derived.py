"""Derived memories: statements distilled from turns, stored beside the turns as keys to them.

A conversation states things obliquely ("Flinkwerk, about forty people" answers "where do you
work now?"); a learned statement ("Tom started a job at Flinkwerk") says it plainly and is found
by a plain question. It is kept as its own memory item whose source ids are the turns it came
from, so a hit on it counts, and is shown, as the conversation it summarises. What the persona
told, promised or recommended the person is kept the same way, with the persona's role.
"""

from __future__ import annotations

from datetime import datetime

from memory.records import MemoryItem


def derived_id(key: str) -> str:
    return f"derived:{key}"


def derived_item(
    *,
    key: str,
    owner: str,
    scope: str,
    text: str,
    said_by_persona: bool,
    created_at: datetime,
    source_ids: tuple[str, ...],
    platform: str = "",
    room_id: str = "",
    thread_id: str | None = None,
    persona: str = "",
) -> MemoryItem:
    """The memory item for one derived statement; the same key always gives the same item id."""
    return MemoryItem(
        id=derived_id(key),
        owner=owner,
        scope=scope,
        text=text,
        created_at=created_at,
        source_ids=source_ids,
        role="assistant" if said_by_persona else "user",
        platform=platform,
        room_id=room_id,
        thread_id=thread_id,
        persona=persona,
        kind="derived",
    )
