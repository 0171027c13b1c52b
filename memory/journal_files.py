"""The owner-readable journal: one Markdown file per persona per day, appended without blocking.

Files live at `DATA_DIR/journal/<persona>/YYYY-MM-DD.md`. They are the bot owner's own files
(the person running Familiar), so DM-scoped entries are written there too, on purpose: privacy
scopes govern what reaches chat prompts and other users, not what the operator may read on
their own disk. Each entry carries an HTML comment with its id, so a retried job never writes
it twice, and a `/forget` removes the entry's section from the file as well as from SQLite.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import aiofiles
import aiofiles.os

from memory.records import JournalEntry

_log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip("._")
    return cleaned or "persona"


def render_entry(entry: JournalEntry) -> str:
    """One entry as a Markdown section (pure)."""
    title = "Reflection" if entry.kind == "reflection" else "Entry"
    about = "private (DM)" if entry.scope == "dm" else entry.scope
    who = f" · {entry.owner}" if entry.owner else ""
    return (
        f"## {entry.created_at:%H:%M} · {title} · {about}{who}\n"
        f"<!-- journal-entry: {entry.id} -->\n\n"
        f"{entry.text.strip()}\n\n"
    )


def without_entries(text: str, ids: set[str]) -> tuple[str, int]:
    """The file text minus the `## ` sections carrying one of these entry ids (pure)."""
    markers = {f"<!-- journal-entry: {entry_id} -->" for entry_id in ids}
    sections: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("## ") or not sections:
            sections.append(line)
        else:
            sections[-1] += line
    kept = [s for s in sections if not any(m in s for m in markers)]
    return "".join(kept), len(sections) - len(kept)


class JournalFiles:
    """Appends journal entries to per-day Markdown files under `data_dir/journal/`."""

    def __init__(self, data_dir: Path) -> None:
        self._root = data_dir / "journal"
        # One append at a time per file: two entries must not interleave their lines.
        self._locks: dict[Path, asyncio.Lock] = {}

    def path_for(self, persona: str, day: str) -> Path:
        return self._root / _safe_name(persona) / f"{_safe_name(day)}.md"

    async def append(self, entry: JournalEntry) -> None:
        path = self.path_for(entry.persona, entry.day)
        lock = self._locks.setdefault(path, asyncio.Lock())
        async with lock:
            await aiofiles.os.makedirs(path.parent, exist_ok=True)
            existing = await self._read(path)
            if f"<!-- journal-entry: {entry.id} -->" in existing:
                return
            header = "" if existing else f"# {entry.persona} — journal for {entry.day}\n\n"
            async with aiofiles.open(path, "a", encoding="utf-8") as f:
                await f.write(header + render_entry(entry))
        _log.debug("journal entry %s appended to %s", entry.id, path)

    async def remove(self, persona: str, day: str, ids: set[str]) -> int:
        """Drop the sections of these entries from the day's file (after a `/forget`)."""
        path = self.path_for(persona, day)
        lock = self._locks.setdefault(path, asyncio.Lock())
        async with lock:
            text = await self._read(path)
            kept, removed = without_entries(text, ids)
            if removed:
                async with aiofiles.open(path, "w", encoding="utf-8") as f:
                    await f.write(kept)
        return removed

    async def read(self, persona: str, day: str) -> str:
        """The day's file, or "" when nothing was written that day."""
        return await self._read(self.path_for(persona, day))

    async def _read(self, path: Path) -> str:
        if not await aiofiles.os.path.exists(path):
            return ""
        async with aiofiles.open(path, encoding="utf-8") as f:
            return await f.read()

    async def close(self) -> None:
        # Every write opens and closes its own file; nothing stays open.
        return None
