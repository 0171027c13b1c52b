"""PostgresFactStore: facts with provenance and supersession, and dossiers, on Postgres.

The same rules as memory.sqlite.facts (whose row conversion it shares): at most one current fact
per (owner, subject, attribute), later `valid_from` wins even when stated out of order, restating
adds provenance, an empty value retracts. Each key's read-then-write runs under a transaction
advisory lock on the key, so two workers learning about one person never both file "current".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from memory.postgres.pool import Connection, PostgresDatabase
from memory.records import Dossier, Fact
from memory.sqlite.facts import (
    escape_like,
    fact_to_row,
    merge_ids,
    row_to_fact,
    same_value,
    scope_class,
    utc_text,
)
from memory.visibility import Visibility

_log = logging.getLogger(__name__)

_COLUMNS = (
    "id, owner, scope, subject, attribute, value, kind, confidence, source_ids,"
    " valid_from, recorded_at, superseded_by, superseded_at"
)
_INSERT = f"INSERT INTO facts ({_COLUMNS}) VALUES ({', '.join('?' * 13)})"
_SAVE_DOSSIER = """
INSERT INTO dossiers (owner, scope_class, scope, summary, updated_at, source_ids) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (owner, scope_class) DO UPDATE SET scope = excluded.scope, summary = excluded.summary,
    updated_at = excluded.updated_at, source_ids = excluded.source_ids
"""


class PostgresFactStore:
    """FactStore on the shared pool (see memory.base.FactStore)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db

    async def start(self) -> None:
        """The schema is migrated when the pool opens."""

    async def close(self) -> None:
        """Nothing to release: the pool belongs to the composition root."""

    async def upsert(self, facts: Sequence[Fact]) -> None:
        ordered = sorted(facts, key=lambda f: utc_text(f.valid_from))  # stated in order, superseded in order
        async with self._db.transaction() as conn:
            for key in sorted({(f.owner, f.subject, f.attribute) for f in ordered}):
                await conn.lock("fact:" + "\x1f".join(key))  # sorted: two batches never deadlock
            for fact in ordered:
                await _upsert_one(conn, fact)

    async def facts(self, visibility: Visibility, *, include_superseded: bool = False) -> list[Fact]:
        where, params = visibility.personal().sql()
        rows = await self._db.fetchall(
            f"SELECT {_COLUMNS} FROM facts WHERE {where} ORDER BY valid_from, recorded_at", params
        )
        found = [row_to_fact(r) for r in rows]
        return found if include_superseded else [f for f in found if f.current and f.value.strip()]

    async def dossier(self, visibility: Visibility) -> Dossier | None:
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
            _SAVE_DOSSIER,
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
        """As SQLite's: the owners' facts (all, or those naming `phrase`); dossiers are dropped."""
        if not owners:
            return 0
        people = sorted(owners)
        async with self._db.transaction() as conn:
            if phrase is None:
                facts_gone = await conn.execute("DELETE FROM facts WHERE owner = ANY(?)", (people,))
                return facts_gone + await conn.execute("DELETE FROM dossiers WHERE owner = ANY(?)", (people,))
            like = f"%{escape_like(phrase.strip())}%"
            facts_gone = await conn.execute(
                "DELETE FROM facts WHERE owner = ANY(?)"
                " AND (value ILIKE ? ESCAPE '\\' OR attribute ILIKE ? ESCAPE '\\')",
                (people, like, like),
            )
            dossier_filter, extra = ("", ()) if facts_gone else (" AND summary ILIKE ? ESCAPE '\\'", (like,))
            dossiers_gone = await conn.execute(
                f"DELETE FROM dossiers WHERE owner = ANY(?){dossier_filter}", (people, *extra)
            )
        _log.info("forgot %s facts and %s dossiers", facts_gone, dossiers_gone)
        return facts_gone + dossiers_gone


async def _upsert_one(conn: Connection, fact: Fact) -> None:
    if await conn.fetchone("SELECT 1 FROM facts WHERE id = ?", (fact.id,)) is not None:
        return  # a retried job: this exact fact is already filed
    rows = await conn.fetchall(
        f"SELECT {_COLUMNS} FROM facts WHERE owner = ? AND subject = ? AND attribute = ?"
        " ORDER BY valid_from, recorded_at",
        (fact.owner, fact.subject, fact.attribute),
    )
    history = [row_to_fact(r) for r in rows]
    current = next((f for f in history if f.current), None)
    when = utc_text(fact.valid_from)
    interrupted = any(not f.current and utc_text(f.valid_from) > when for f in history)
    if current is not None and same_value(current.value, fact.value) and not interrupted:
        await _add_provenance(conn, current, fact)
    elif current is None or when >= utc_text(current.valid_from):
        await _insert_as_current(conn, fact, current)
    else:
        await _insert_as_history(conn, fact, history)


async def _add_provenance(conn: Connection, current: Fact, fact: Fact) -> None:
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


async def _insert_as_current(conn: Connection, fact: Fact, current: Fact | None) -> None:
    if current is not None:
        await conn.execute(
            "UPDATE facts SET superseded_by = ?, superseded_at = ? WHERE id = ?",
            (fact.id, utc_text(fact.valid_from), current.id),
        )
    await conn.execute(_INSERT, fact_to_row(replace(fact, superseded_by=None, superseded_at=None)))


async def _insert_as_history(conn: Connection, fact: Fact, history: list[Fact]) -> None:
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
    await conn.execute(_INSERT, fact_to_row(filed))
