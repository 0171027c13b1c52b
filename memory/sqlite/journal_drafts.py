"""SqliteJournalDrafts: conversations waiting for their journal entry, kept across restarts.

One row per draft, rewritten whole by one upsert per noted turn (a draft keeps only its most
recent lines, so a row stays small). Timestamps keep the offset they came with, so a line's
time reads the same in the journal prompt after a restart.

The Database is owned (opened and closed) by the composition root.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from memory.records import DraftLine, JournalDraft
from memory.sqlite.db import Database

_log = logging.getLogger(__name__)

_SCHEMA_NAME = "journal_drafts.v1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal_drafts (
    id TEXT PRIMARY KEY,
    persona TEXT NOT NULL,
    session TEXT NOT NULL,
    scope TEXT NOT NULL,
    last_at TEXT NOT NULL,
    owners TEXT NOT NULL,
    lines TEXT NOT NULL,
    source_ids TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    retry_at TEXT
);
"""
_FIELDS = ("persona", "session", "scope", "last_at", "owners", "lines", "source_ids", "attempts", "retry_at")
_COLUMNS = ", ".join(("id", *_FIELDS))
_MARKS = ", ".join("?" * (len(_FIELDS) + 1))
_UPSERT = (
    f"INSERT INTO journal_drafts ({_COLUMNS}) VALUES ({_MARKS})"
    f" ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _FIELDS)}"
)
_UPDATE = f"UPDATE journal_drafts SET {', '.join(f'{c} = ?' for c in _FIELDS)} WHERE id = ?"


def _lines_json(lines: tuple[DraftLine, ...]) -> str:
    return json.dumps([{"author": x.author, "text": x.text, "at": x.at.isoformat()} for x in lines])


def _lines(raw: str) -> tuple[DraftLine, ...]:
    return tuple(
        DraftLine(author=x["author"], text=x["text"], at=datetime.fromisoformat(x["at"]))
        for x in json.loads(raw)
    )


def draft_values(draft: JournalDraft) -> list[Any]:
    """The columns after `id`, in `_FIELDS` order."""
    return [
        draft.persona,
        draft.session,
        draft.scope,
        draft.last_at.isoformat(),
        json.dumps(list(draft.owners)),
        _lines_json(draft.lines),
        json.dumps(list(draft.source_ids)),
        draft.attempts,
        draft.retry_at.isoformat() if draft.retry_at is not None else None,
    ]


def row_to_draft(row: Any) -> JournalDraft:
    return JournalDraft(
        id=row["id"],
        persona=row["persona"],
        session=row["session"],
        scope=row["scope"],
        last_at=datetime.fromisoformat(row["last_at"]),
        owners=tuple(json.loads(row["owners"])),
        lines=_lines(row["lines"]),
        source_ids=tuple(json.loads(row["source_ids"])),
        attempts=row["attempts"],
        retry_at=datetime.fromisoformat(row["retry_at"]) if row["retry_at"] is not None else None,
    )


class SqliteJournalDrafts:
    """JournalDrafts on the shared Database (see memory.base.JournalDrafts)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(self) -> None:
        await self._db.ensure_schema(_SCHEMA_NAME, _SCHEMA)

    async def close(self) -> None:
        # The Database belongs to the composition root; nothing of ours to release.
        return None

    async def save(self, draft: JournalDraft) -> None:
        await self._db.execute(_UPSERT, [draft.id, *draft_values(draft)])

    async def update(self, draft: JournalDraft) -> bool:
        return await self._db.execute(_UPDATE, [*draft_values(draft), draft.id]) == 1

    async def get(self, draft_id: str) -> JournalDraft | None:
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM journal_drafts WHERE id = ?", (draft_id,))
        return row_to_draft(row) if row is not None else None

    async def pending(self) -> list[JournalDraft]:
        rows = await self._db.fetchall(f"SELECT {_COLUMNS} FROM journal_drafts")
        # Sorted here, not in SQL: stored times keep their own offsets, so text order is not time order.
        return sorted((row_to_draft(r) for r in rows), key=lambda d: d.last_at)

    async def discard(self, draft_id: str) -> bool:
        return await self._db.execute("DELETE FROM journal_drafts WHERE id = ?", (draft_id,)) == 1

    async def forget(
        self, owners: frozenset[str], phrase: str | None = None, *, sources: frozenset[str] = frozenset()
    ) -> int:
        """Drop every draft a `/forget` covers (`JournalDraft.is_about`); returns how many."""
        if not owners and not sources:
            return 0
        async with self._db.transaction() as conn:
            async with conn.execute(f"SELECT {_COLUMNS} FROM journal_drafts") as cur:
                rows = await cur.fetchall()
            doomed = [r["id"] for r in rows if row_to_draft(r).is_about(owners, phrase, sources)]
            await conn.executemany("DELETE FROM journal_drafts WHERE id = ?", [(i,) for i in doomed])
        _log.info("forgot %s pending journal drafts", len(doomed))
        return len(doomed)
