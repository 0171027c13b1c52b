"""SqliteFactStore: facts with provenance and supersession, and per-person dossiers, on SQLite.

Supersession is per (owner, subject, attribute): at most one fact of a key is current. A new
value with a later (or equal) `valid_from` retires the current one, which is kept as history
(`superseded_by`/`superseded_at`). A value stated with an EARLIER `valid_from` than the current
fact is filed as already-superseded history: the later timestamp wins even when stated out of
order. Restating the current value only adds its source ids (provenance). A fact with an empty
value is a retraction ("you can call me Bob again"): it retires the key and is never listed as
current. Forgetting the newest fact of a key does not resurrect the older one.

Dossiers are kept per owner and scope class: one built from DM material (`dm`) and one from
room material (`public`), so a summary that saw DM facts never reaches a group room.

The Database is owned (opened and closed) by the composition root.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import aiosqlite

from memory.records import Dossier, Fact, FactKind
from memory.sqlite.db import Database
from memory.visibility import DM_SCOPE, Visibility

_log = logging.getLogger(__name__)

_SCHEMA_NAME = "facts.v1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    attribute TEXT NOT NULL,
    value TEXT NOT NULL,
    kind TEXT NOT NULL,
    confidence REAL NOT NULL,
    source_ids TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    superseded_by TEXT,
    superseded_at TEXT
);
CREATE INDEX IF NOT EXISTS facts_key ON facts (owner, subject, attribute, valid_from);
CREATE TABLE IF NOT EXISTS dossiers (
    owner TEXT NOT NULL,
    scope_class TEXT NOT NULL,
    scope TEXT NOT NULL,
    summary TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    source_ids TEXT NOT NULL,
    PRIMARY KEY (owner, scope_class)
);
"""
_COLUMNS = (
    "id, owner, scope, subject, attribute, value, kind, confidence, source_ids,"
    " valid_from, recorded_at, superseded_by, superseded_at"
)


def utc_text(value: datetime) -> str:
    """UTC ISO text: sorts chronologically as a string."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def same_value(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def merge_ids(old: Sequence[str], new: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*old, *new]))


def scope_class(scope: str) -> str:
    """Which dossier a scope feeds: DM material and room material are never mixed."""
    return "dm" if scope == DM_SCOPE else "public"


def row_to_fact(row: Any) -> Fact:
    return Fact(
        id=row["id"],
        owner=row["owner"],
        scope=row["scope"],
        subject=row["subject"],
        attribute=row["attribute"],
        value=row["value"],
        kind=cast("FactKind", row["kind"]),
        confidence=row["confidence"],
        source_ids=tuple(json.loads(row["source_ids"])),
        valid_from=datetime.fromisoformat(row["valid_from"]),
        recorded_at=datetime.fromisoformat(row["recorded_at"]),
        superseded_by=row["superseded_by"],
        superseded_at=_dt(row["superseded_at"]),
    )


def fact_to_row(fact: Fact) -> tuple[Any, ...]:
    return (
        fact.id,
        fact.owner,
        fact.scope,
        fact.subject,
        fact.attribute,
        fact.value,
        fact.kind,
        fact.confidence,
        json.dumps(list(fact.source_ids)),
        utc_text(fact.valid_from),
        utc_text(fact.recorded_at),
        fact.superseded_by,
        None if fact.superseded_at is None else utc_text(fact.superseded_at),
    )


class SqliteFactStore:
    """FactStore on the shared Database (see memory.base.FactStore)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._started = False

    async def start(self) -> None:
        await self._db.ensure_schema(_SCHEMA_NAME, _SCHEMA)
        self._started = True

    async def close(self) -> None:
        # The Database belongs to the composition root; nothing of ours to release.
        self._started = False

    async def upsert(self, facts: Sequence[Fact]) -> None:
        # Oldest first, so a batch stated in order supersedes in order.
        ordered = sorted(facts, key=lambda f: utc_text(f.valid_from))
        async with self._db.transaction() as conn:
            for fact in ordered:
                await self._upsert_one(conn, fact)

    async def _upsert_one(self, conn: aiosqlite.Connection, fact: Fact) -> None:
        if await _fetchone(conn, "SELECT 1 FROM facts WHERE id = ?", (fact.id,)) is not None:
            return  # a retried job: this exact fact is already filed
        history = await self._key_history(conn, fact)
        current = next((f for f in history if f.current), None)
        when = utc_text(fact.valid_from)
        # Restating the current value is provenance, unless another value came in between.
        interrupted = any(not f.current and utc_text(f.valid_from) > when for f in history)
        if current is not None and same_value(current.value, fact.value) and not interrupted:
            await self._add_provenance(conn, current, fact)
        elif current is None or when >= utc_text(current.valid_from):
            await self._insert_as_current(conn, fact, current)
        else:
            await self._insert_as_history(conn, fact, history)

    async def _key_history(self, conn: aiosqlite.Connection, fact: Fact) -> list[Fact]:
        rows = await _fetchall(
            conn,
            f"SELECT {_COLUMNS} FROM facts WHERE owner = ? AND subject = ? AND attribute = ?"
            " ORDER BY valid_from, recorded_at",
            (fact.owner, fact.subject, fact.attribute),
        )
        return [row_to_fact(r) for r in rows]

    async def _add_provenance(self, conn: aiosqlite.Connection, current: Fact, fact: Fact) -> None:
        valid_from = min(current.valid_from, fact.valid_from, key=utc_text)
        await conn.execute(
            "UPDATE facts SET source_ids = ?, confidence = ?, valid_from = ? WHERE id = ?",
            (
                json.dumps(list(merge_ids(current.source_ids, fact.source_ids))),
                max(current.confidence, fact.confidence),
                utc_text(valid_from),
                current.id,
            ),
        )

    async def _insert_as_current(self, conn: aiosqlite.Connection, fact: Fact, current: Fact | None) -> None:
        if current is not None:
            await conn.execute(
                "UPDATE facts SET superseded_by = ?, superseded_at = ? WHERE id = ?",
                (fact.id, utc_text(fact.valid_from), current.id),
            )
        row = fact_to_row(replace(fact, superseded_by=None, superseded_at=None))
        await conn.execute(f"INSERT INTO facts ({_COLUMNS}) VALUES ({_placeholders()})", row)

    async def _insert_as_history(self, conn: aiosqlite.Connection, fact: Fact, history: list[Fact]) -> None:
        """File a late-arriving older value between its neighbours in the key's timeline."""
        when = utc_text(fact.valid_from)
        successor = next(f for f in history if utc_text(f.valid_from) > when)
        predecessor = next((f for f in reversed(history) if utc_text(f.valid_from) <= when), None)
        if predecessor is not None and predecessor.superseded_by == successor.id:
            await conn.execute(
                "UPDATE facts SET superseded_by = ?, superseded_at = ? WHERE id = ?",
                (fact.id, when, predecessor.id),
            )
        filed = replace(fact, superseded_by=successor.id, superseded_at=successor.valid_from)
        await conn.execute(f"INSERT INTO facts ({_COLUMNS}) VALUES ({_placeholders()})", fact_to_row(filed))
        _log.debug("fact %s stated out of order; filed as history under %s", fact.id, successor.id)

    async def facts(self, visibility: Visibility, *, include_superseded: bool = False) -> list[Fact]:
        """The asker's own facts visible here (memory.visibility's personal view), oldest first."""
        where, params = visibility.personal().sql()
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM facts WHERE {where} ORDER BY valid_from, recorded_at", params
        )
        found = [row_to_fact(r) for r in rows]
        if include_superseded:
            return found
        return [f for f in found if f.current and f.value.strip()]

    async def dossier(self, visibility: Visibility) -> Dossier | None:
        """The asker's dossier visible here; a DM one saw everything they said, so it is preferred
        where it may be shown (the rule keeps it out of rooms)."""
        where, params = visibility.personal().sql()
        best = await self._db.fetchone(
            "SELECT owner, scope, summary, updated_at, source_ids FROM dossiers"
            f" WHERE {where} ORDER BY scope_class = 'dm' DESC, updated_at DESC LIMIT 1",
            params,
        )
        if best is None:
            return None
        return Dossier(
            owner=best["owner"],
            scope=best["scope"],
            summary=best["summary"],
            updated_at=datetime.fromisoformat(best["updated_at"]),
            source_ids=tuple(json.loads(best["source_ids"])),
        )

    async def save_dossier(self, dossier: Dossier) -> None:
        await self._db.execute(
            "INSERT OR REPLACE INTO dossiers (owner, scope_class, scope, summary, updated_at, source_ids)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                dossier.owner,
                scope_class(dossier.scope),
                dossier.scope,
                dossier.summary,
                utc_text(dossier.updated_at),
                json.dumps(list(dossier.source_ids)),
            ),
        )

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int:
        """Delete the owners' facts (all, or those whose value/attribute contains `phrase`).

        Dossiers are dropped rather than edited: a summary may paraphrase a forgotten fact, and
        the learner rebuilds it from the remaining facts on the next turn.
        """
        if not owners:
            return 0
        owner_sql = f"owner IN ({_placeholders(len(owners))})"
        params: list[Any] = sorted(owners)
        async with self._db.transaction() as conn:
            if phrase is None:
                facts_gone = await _rowcount(conn, f"DELETE FROM facts WHERE {owner_sql}", params)
                dossiers_gone = await _rowcount(conn, f"DELETE FROM dossiers WHERE {owner_sql}", params)
                return facts_gone + dossiers_gone
            like = f"%{escape_like(phrase.strip())}%"
            facts_gone = await _rowcount(
                conn,
                f"DELETE FROM facts WHERE {owner_sql}"
                " AND (value LIKE ? ESCAPE '\\' OR attribute LIKE ? ESCAPE '\\')",
                [*params, like, like],
            )
            dossier_filter = "" if facts_gone else " AND summary LIKE ? ESCAPE '\\'"
            dossier_params = params if facts_gone else [*params, like]
            dossiers_gone = await _rowcount(
                conn, f"DELETE FROM dossiers WHERE {owner_sql}{dossier_filter}", dossier_params
            )
        _log.info("forgot %s facts and %s dossiers", facts_gone, dossiers_gone)
        return facts_gone + dossiers_gone


def _placeholders(n: int = len(_COLUMNS.split(","))) -> str:
    return ", ".join("?" * n)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _fetchone(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> aiosqlite.Row | None:
    async with conn.execute(sql, params) as cur:
        return await cur.fetchone()


async def _fetchall(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> list[aiosqlite.Row]:
    async with conn.execute(sql, params) as cur:
        return list(await cur.fetchall())


async def _rowcount(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> int:
    async with conn.execute(sql, params) as cur:
        return cur.rowcount
