"""SqliteJournalStore: the persona's journal entries on SQLite, searchable with FTS5 (BM25).

Who may see an entry is the one rule of memory.visibility, applied in SQL before the LIMIT and
the ranking: an entry about one person is that person's record; an entry with no single owner
(a group conversation, a room's reflection) is a record of its room, shown there only when the
room policy shares the room's records.

The store also holds the conversations still waiting for their entry (`drafts`, a
memory.sqlite.journal_drafts.SqliteJournalDrafts), so that `forget` drops those too: a
forgotten line must not reach an entry written after the `/forget`.

The Database is owned (opened and closed) by the composition root.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any, Literal, cast

import aiosqlite

from memory.journal_files import JournalFiles
from memory.records import JournalEntry
from memory.sqlite.db import Database
from memory.sqlite.journal_drafts import SqliteJournalDrafts
from memory.visibility import Visibility

_log = logging.getLogger(__name__)

_SCHEMA_NAME = "journal.v1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    id TEXT PRIMARY KEY,
    persona TEXT NOT NULL,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at TEXT NOT NULL,
    owner TEXT,
    source_ids TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_persona_time ON journal (persona, created_at);
CREATE INDEX IF NOT EXISTS journal_persona_day ON journal (persona, day);
CREATE VIRTUAL TABLE IF NOT EXISTS journal_fts USING fts5 (
    text, content='journal', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
);
"""
_COLUMNS = "id, persona, day, kind, text, scope, created_at, owner, source_ids"
_WORD = re.compile(r"\w+")


def _ts(value: datetime) -> str:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def _row_to_entry(row: aiosqlite.Row) -> JournalEntry:
    return JournalEntry(
        id=row["id"],
        persona=row["persona"],
        day=row["day"],
        kind=cast("Literal['entry', 'reflection']", row["kind"]),
        text=row["text"],
        scope=row["scope"],
        created_at=datetime.fromisoformat(row["created_at"]),
        owner=row["owner"],
        source_ids=tuple(json.loads(row["source_ids"])),
    )


row_to_entry = _row_to_entry  # the operator's directory reads the same rows by day


def _ids(raw: str) -> set[str]:
    return set(json.loads(raw))


def _fts_query(text: str) -> str:
    """Any of the words, each quoted so FTS5 syntax in user text is inert."""
    words = dict.fromkeys(w.lower() for w in _WORD.findall(text))
    return " OR ".join(f'"{w}"' for w in words)


class SqliteJournalStore:
    """JournalStore on the shared Database (see memory.base.JournalStore)."""

    def __init__(self, db: Database, *, files: JournalFiles | None = None) -> None:
        self._files = files  # the Markdown mirror: forgotten entries leave it too
        self._db = db
        self.drafts = SqliteJournalDrafts(db)

    async def start(self) -> None:
        await self._db.ensure_schema(_SCHEMA_NAME, _SCHEMA)
        await self.drafts.start()

    async def close(self) -> None:
        # The Database belongs to the composition root; nothing of ours to release.
        return None

    async def add(self, entry: JournalEntry) -> None:
        """Idempotent by entry id."""
        row = (
            entry.id,
            entry.persona,
            entry.day,
            entry.kind,
            entry.text,
            entry.scope,
            _ts(entry.created_at),
            entry.owner,
            json.dumps(list(entry.source_ids)),
        )
        async with self._db.transaction() as conn:
            async with conn.execute(
                f"INSERT OR IGNORE INTO journal ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row
            ) as cur:
                inserted = cur.rowcount == 1
                rowid = cur.lastrowid
            if inserted:
                await conn.execute("INSERT INTO journal_fts (rowid, text) VALUES (?, ?)", (rowid, entry.text))

    async def recent(
        self, persona: str, visibility: Visibility, limit: int, since: datetime | None = None
    ) -> list[JournalEntry]:
        """The newest visible entries, oldest first (ready for a prompt)."""
        where, where_params = visibility.sql()
        sql = f"SELECT {_COLUMNS} FROM journal WHERE persona = ? AND {where}"
        params: list[Any] = [persona, *where_params]
        if since is not None:
            sql += " AND created_at >= ?"
            params.append(_ts(since))
        sql += " ORDER BY created_at DESC LIMIT ?"
        params.append(max(limit, 0))
        rows = await self._db.fetchall(sql, params)
        return [_row_to_entry(r) for r in reversed(rows)]

    async def search(self, persona: str, visibility: Visibility, text: str, k: int) -> list[JournalEntry]:
        """Best BM25 matches first, among visible entries only."""
        query = _fts_query(text)
        if not query or k <= 0:
            return []
        where, where_params = visibility.sql(owner="j.owner", scope="j.scope")
        rows = await self._db.fetchall(
            f"SELECT {', '.join('j.' + c.strip() for c in _COLUMNS.split(','))} FROM journal_fts"
            " JOIN journal j ON j.rowid = journal_fts.rowid"
            f" WHERE journal_fts MATCH ? AND j.persona = ? AND {where}"
            " ORDER BY bm25(journal_fts) LIMIT ?",
            (query, persona, *where_params, k),
        )
        return [_row_to_entry(r) for r in rows]

    async def day(self, persona: str, day: str) -> list[JournalEntry]:
        """Every entry of one day, oldest first, regardless of scope.

        For the persona's own daily reflection, which keeps each scope's material apart
        itself; never hand this list to a prompt unfiltered.
        """
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM journal WHERE persona = ? AND day = ? ORDER BY created_at",
            (persona, day),
        )
        return [_row_to_entry(r) for r in rows]

    async def _forget_in_files(self, rows: list[aiosqlite.Row]) -> None:
        if self._files is None:
            return
        by_day: dict[tuple[str, str], set[str]] = {}
        for row in rows:
            by_day.setdefault((row["persona"], row["day"]), set()).add(row["id"])
        for (persona, day), ids in by_day.items():
            await self._files.remove(persona, day, ids)

    async def forget(
        self, owners: frozenset[str], phrase: str | None = None, *, sources: frozenset[str] = frozenset()
    ) -> int:
        """Delete entries about these owners, and shared entries (no single owner) built from any of
        `sources` (the owners' event ids); all of them, or those whose text contains `phrase`.
        Pending drafts they took part in go too; the count is of entries only."""
        if not owners and not sources:
            return 0
        await self.drafts.forget(owners, phrase, sources=sources)
        sql = "SELECT rowid, text, owner, source_ids, id, persona, day FROM journal"
        params: list[Any] = []
        if phrase is not None:
            sql += " WHERE instr(lower(text), lower(?)) > 0"
            params.append(phrase.strip())
        async with self._db.transaction() as conn:
            async with conn.execute(sql, params) as cur:
                rows = await cur.fetchall()
            gone = [
                r
                for r in rows
                if r["owner"] in owners or (sources and not sources.isdisjoint(_ids(r["source_ids"])))
            ]
            doomed = [(r["rowid"], r["text"]) for r in gone]
            for rowid, text in doomed:
                # External-content FTS5 needs the old text to remove its index entries.
                await conn.execute(
                    "INSERT INTO journal_fts (journal_fts, rowid, text) VALUES ('delete', ?, ?)",
                    (rowid, text),
                )
                await conn.execute("DELETE FROM journal WHERE rowid = ?", (rowid,))
        await self._forget_in_files(gone)
        _log.info("forgot %s journal entries", len(doomed))
        return len(doomed)
