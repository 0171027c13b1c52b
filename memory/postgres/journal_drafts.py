"""PostgresJournalDrafts: conversations waiting for their journal entry, kept across restarts."""

from __future__ import annotations

import logging

from memory.postgres.pool import PostgresDatabase
from memory.records import JournalDraft
from memory.sqlite.journal_drafts import draft_values, row_to_draft

_log = logging.getLogger(__name__)

_FIELDS = ("persona", "session", "scope", "last_at", "owners", "lines", "source_ids", "attempts", "retry_at")
_COLUMNS = ", ".join(("id", *_FIELDS))
_UPSERT = (
    f"INSERT INTO journal_drafts ({_COLUMNS}) VALUES ({', '.join('?' * (len(_FIELDS) + 1))})"
    f" ON CONFLICT (id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in _FIELDS)}"
)
_UPDATE = f"UPDATE journal_drafts SET {', '.join(f'{c} = ?' for c in _FIELDS)} WHERE id = ?"


class PostgresJournalDrafts:
    """JournalDrafts on the shared pool (see memory.base.JournalDrafts)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def start(self) -> None:
        """The schema is migrated when the pool opens."""

    async def close(self) -> None:
        """Nothing to release: the pool belongs to the composition root."""

    async def save(self, draft: JournalDraft) -> None:
        await self._db.execute(_UPSERT, [draft.id, *draft_values(draft)])

    async def update(self, draft: JournalDraft) -> bool:
        return await self._db.execute(_UPDATE, [*draft_values(draft), draft.id]) == 1

    async def get(self, draft_id: str) -> JournalDraft | None:
        row = await self._db.fetchone(f"SELECT {_COLUMNS} FROM journal_drafts WHERE id = ?", (draft_id,))
        return row_to_draft(row) if row is not None else None

    async def pending(self) -> list[JournalDraft]:
        rows = await self._db.fetchall(f"SELECT {_COLUMNS} FROM journal_drafts")
        # Sorted here: stored times keep their own offsets, so text order is not time order.
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
            rows = await conn.fetchall(f"SELECT {_COLUMNS} FROM journal_drafts FOR UPDATE")
            doomed = [r["id"] for r in rows if row_to_draft(r).is_about(owners, phrase, sources)]
            if doomed:
                await conn.execute("DELETE FROM journal_drafts WHERE id = ANY(?)", (doomed,))
        _log.info("forgot %s pending journal drafts", len(doomed))
        return len(doomed)
