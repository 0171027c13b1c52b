"""PostgresJournalStore: the persona's journal on Postgres, searched with its full-text index.

Visibility is the one rule of memory.visibility, applied in SQL before the LIMIT and the ranking,
as in memory.sqlite.journal (whose row conversion it shares). Search ranks with `ts_rank` over a
generated `tsvector` column ('simple' configuration: words lower-cased, never stemmed, as the
SQLite store's unicode61 tokens are). The pending drafts live beside the entries, so `forget`
drops both.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from memory.journal_files import JournalFiles
from memory.postgres.journal_drafts import PostgresJournalDrafts
from memory.postgres.pool import PostgresDatabase
from memory.records import JournalEntry
from memory.sqlite.journal import query_words, row_to_entry, source_set, utc_text
from memory.visibility import Visibility

_log = logging.getLogger(__name__)

_COLUMNS = "id, persona, day, kind, text, scope, created_at, owner, source_ids"
_INSERT = f"INSERT INTO journal ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"


class PostgresJournalStore:
    """JournalStore on the shared pool (see memory.base.JournalStore)."""

    def __init__(self, db: PostgresDatabase, *, files: JournalFiles | None = None) -> None:
        self._db = db
        self._files = files  # the Markdown mirror: forgotten entries leave it too
        self.drafts = PostgresJournalDrafts(db)

    async def start(self) -> None:
        """The schema is migrated when the pool opens."""

    async def close(self) -> None:
        """Nothing to release: the pool belongs to the composition root."""

    async def add(self, entry: JournalEntry) -> None:
        """Idempotent by entry id."""
        await self._db.execute(
            _INSERT,
            (
                *(entry.id, entry.persona, entry.day, entry.kind, entry.text, entry.scope),
                *(utc_text(entry.created_at), entry.owner, json.dumps(list(entry.source_ids))),
            ),
        )

    async def recent(
        self, persona: str, visibility: Visibility, limit: int, since: datetime | None = None
    ) -> list[JournalEntry]:
        """The newest visible entries, oldest first (ready for a prompt)."""
        where, where_params = visibility.sql()
        sql = f"SELECT {_COLUMNS} FROM journal WHERE persona = ? AND {where}"
        params: list[Any] = [persona, *where_params]
        if since is not None:
            sql += " AND created_at >= ?"
            params.append(utc_text(since))
        rows = await self._db.fetchall(sql + " ORDER BY created_at DESC LIMIT ?", [*params, max(limit, 0)])
        return [row_to_entry(r) for r in reversed(rows)]

    async def search(self, persona: str, visibility: Visibility, text: str, k: int) -> list[JournalEntry]:
        """Best matches first, among visible entries only."""
        words = query_words(text)
        if not words or k <= 0:
            return []
        where, where_params = visibility.sql()
        # Each word quoted as a tsquery literal (\w+ holds no quote), so user text is never syntax.
        query = " | ".join(f"'{w}'" for w in words)
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM journal, to_tsquery('simple', ?) q"
            f" WHERE words @@ q AND persona = ? AND {where}"
            " ORDER BY ts_rank(words, q) DESC, created_at DESC LIMIT ?",
            (query, persona, *where_params, k),
        )
        return [row_to_entry(r) for r in rows]

    async def day(self, persona: str, day: str) -> list[JournalEntry]:
        """Every entry of one day, oldest first, regardless of scope (for the daily reflection,
        which keeps each scope's material apart itself; never hand this list to a prompt)."""
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM journal WHERE persona = ? AND day = ? ORDER BY created_at",
            (persona, day),
        )
        return [row_to_entry(r) for r in rows]

    async def forget(
        self, owners: frozenset[str], phrase: str | None = None, *, sources: frozenset[str] = frozenset()
    ) -> int:
        """Entries about these owners, and shared entries built from any of `sources`; all of them,
        or those whose text contains `phrase`. Their pending drafts go too; counts entries only."""
        if not owners and not sources:
            return 0
        await self.drafts.forget(owners, phrase, sources=sources)
        sql = "SELECT id, persona, day, owner, source_ids FROM journal"
        params: list[Any] = []
        if phrase is not None:
            sql += " WHERE strpos(lower(text), lower(?)) > 0"
            params.append(phrase.strip())
        async with self._db.transaction() as conn:
            rows = await conn.fetchall(sql + " FOR UPDATE", params)
            gone = [
                r
                for r in rows
                if r["owner"] in owners or (sources and not sources.isdisjoint(source_set(r["source_ids"])))
            ]
            if gone:
                await conn.execute("DELETE FROM journal WHERE id = ANY(?)", ([r["id"] for r in gone],))
        await self._forget_in_files(gone)
        _log.info("forgot %s journal entries", len(gone))
        return len(gone)

    async def _forget_in_files(self, rows: list[Any]) -> None:
        if self._files is None:
            return
        by_day: dict[tuple[str, str], set[str]] = {}
        for row in rows:
            by_day.setdefault((row["persona"], row["day"]), set()).add(row["id"])
        for (persona, day), ids in by_day.items():
            await self._files.remove(persona, day, ids)
