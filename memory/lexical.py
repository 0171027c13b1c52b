"""A persistent, incremental BM25 index on SQLite FTS5, partitioned so filtering precedes ranking.

Each document carries partition tokens (opaque hashes of owner/scope buckets) in an FTS column of
its own. A search ANDs "any of the allowed partitions" into the MATCH expression, so FTS5 intersects
posting lists: documents outside the caller's partitions are never scored at all. The partition
column has weight 0 in bm25(), so it does not change the ranking of what is allowed.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from memory.sqlite.db import Database

_log = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
# Function words and question scaffolding: they match nearly every turn and drown the content words.
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves ll re ve d s t m don didn doesn isn wasn aren weren won
    wouldn couldn shouldn tell told remember remind recall know say said mention mentioned ask asked
    again ever yesterday today tonight ago week weeks month months year years day days last ago earlier
    recently lately ok okay yeah yes oh hey hi hello please thanks thank also really
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def partition_token(kind: str, value: str) -> str:
    """An opaque, tokenizer-safe token for one partition (e.g. kind "o" and an owner identity)."""
    return f"p{kind}{hashlib.sha1(value.encode()).hexdigest()[:20]}x"


def _match_expression(terms: Sequence[str], parts: str) -> str:
    """Any of the terms, inside any of the partitions (`parts`: an OR of quoted tokens)."""
    words = " OR ".join(f'"{t}"' for t in terms)
    return f"body : ({words}) AND part : ({parts})"


def query_terms(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if word.isdigit() or (word not in STOPWORDS and len(word) > 1):
            seen.setdefault(word, None)
    return list(seen)


@dataclass(frozen=True, slots=True, kw_only=True)
class LexicalDoc:
    id: str
    text: str
    partitions: tuple[str, ...]
    timestamp: float


@dataclass(frozen=True, slots=True, kw_only=True)
class LexicalHit:
    id: str
    score: float  # bm25: higher is better here (sign flipped from SQLite's)


class LexicalIndex:
    """Documents are replaced by id (idempotent add). The Database is owned by the caller."""

    def __init__(self, db: Database, *, name: str = "lex", max_scored: int = 1500) -> None:
        if not _NAME.match(name):
            raise ValueError(f"invalid lexical index name {name!r}")
        self._db = db
        # bm25 costs ~2 us per matching document (counting them is ~20x cheaper): a search scores
        # at most about this many, so a heavy partition's query stays bounded (see _affordable).
        self._max_scored = max_scored
        self._docs = f"{name}_docs"
        self._fts = f"{name}_fts"

    async def start(self) -> None:
        await self._db.open()
        await self._db.ensure_schema(
            self._fts,
            f"""
            CREATE TABLE IF NOT EXISTS {self._docs} (
                rowid INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE, ts REAL NOT NULL);
            CREATE INDEX IF NOT EXISTS {self._docs}_ts ON {self._docs}(ts);
            CREATE VIRTUAL TABLE IF NOT EXISTS {self._fts} USING fts5(
                body, part, tokenize = 'porter unicode61 remove_diacritics 2');
            INSERT INTO {self._fts}({self._fts}, rank) VALUES('rank', 'bm25(1.0, 0.0)');
            """,
        )

    async def add(self, docs: Sequence[LexicalDoc]) -> None:
        if not docs:
            return
        latest = {d.id: d for d in docs}  # the last version of a repeated id wins
        ids = list(latest)
        async with self._db.transaction() as conn:
            await self._delete_in(conn, ids)
            async with conn.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {self._docs}") as cur:
                row = await cur.fetchone()
            base = int(row[0]) if row else 0
            rows = list(enumerate(latest.values(), start=base + 1))
            await conn.executemany(
                f"INSERT INTO {self._docs}(rowid, doc_id, ts) VALUES (?, ?, ?)",
                [(rowid, d.id, d.timestamp) for rowid, d in rows],
            )
            await conn.executemany(
                f"INSERT INTO {self._fts}(rowid, body, part) VALUES (?, ?, ?)",
                [(rowid, d.text, " ".join(d.partitions)) for rowid, d in rows],
            )

    async def _delete_in(self, conn: aiosqlite.Connection, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            await conn.execute(
                f"DELETE FROM {self._fts} WHERE rowid IN "
                f"(SELECT rowid FROM {self._docs} WHERE doc_id IN ({marks}))",
                chunk,
            )
            await conn.execute(f"DELETE FROM {self._docs} WHERE doc_id IN ({marks})", chunk)

    async def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        async with self._db.transaction() as conn:
            await self._delete_in(conn, ids)

    async def search(
        self,
        text: str,
        *,
        partitions: Sequence[str],
        k: int,
        since: float | None = None,
        until: float | None = None,
    ) -> list[LexicalHit]:
        terms = query_terms(text)
        if not terms or not partitions or k <= 0:
            return []
        parts = " OR ".join(f'"{p}"' for p in partitions)
        terms, newest = await self._affordable(terms, parts)
        if not terms:
            return []
        match = _match_expression(terms, parts)
        sql = f"SELECT d.doc_id, f.rank FROM {self._fts} f JOIN {self._docs} d ON d.rowid = f.rowid"
        sql += f" WHERE {self._fts} MATCH ?"
        params: list[object] = [match]
        if newest is not None:
            sql += " AND f.rowid >= ?"
            params.append(newest)
        if since is not None:
            sql += " AND d.ts >= ?"
            params.append(since)
        if until is not None:
            sql += " AND d.ts < ?"
            params.append(until)
        sql += " ORDER BY f.rank LIMIT ?"
        params.append(k)
        rows = await self._db.fetchall(sql, params)
        return [LexicalHit(id=str(r[0]), score=-float(r[1])) for r in rows]

    async def search_within(
        self, text: str, *, partitions: Sequence[str], k: int, since: float, until: float
    ) -> tuple[list[LexicalHit], list[LexicalHit]]:
        """The best k anywhere and the best k stamped inside [since, until), from one bm25 pass.

        Scoring carries a fixed cost per query (bm25 reads every phrase's document count, the
        partition tokens' included), so one pass over the (budgeted) matches serves both lists.
        """
        if self._max_scored <= 0:  # no budget: one pass could mean every match, so two bounded ones
            anywhere = await self.search(text, partitions=partitions, k=k)
            return anywhere, await self.search(text, partitions=partitions, k=k, since=since, until=until)
        terms = query_terms(text)
        if not terms or not partitions or k <= 0:
            return [], []
        parts = " OR ".join(f'"{p}"' for p in partitions)
        terms, newest = await self._affordable(terms, parts)
        if not terms:
            return [], []
        sql = f"SELECT d.doc_id, f.rank, d.ts FROM {self._fts} f JOIN {self._docs} d ON d.rowid = f.rowid"
        sql += f" WHERE {self._fts} MATCH ?"
        params: list[object] = [_match_expression(terms, parts)]
        if newest is not None:
            sql += " AND f.rowid >= ?"
            params.append(newest)
        rows = await self._db.fetchall(sql + " ORDER BY f.rank", params)
        anywhere = [LexicalHit(id=str(r[0]), score=-float(r[1])) for r in rows[:k]]
        inside = [LexicalHit(id=str(r[0]), score=-float(r[1])) for r in rows if since <= float(r[2]) < until]
        return anywhere, inside[:k]

    async def _matches(self, terms: Sequence[str], parts: str) -> int:
        match = _match_expression(terms, parts)
        row = await self._db.fetchone(f"SELECT COUNT(*) FROM {self._fts} WHERE {self._fts} MATCH ?", [match])
        return int(row[0]) if row else 0

    async def _affordable(self, terms: list[str], parts: str) -> tuple[list[str], int | None]:
        """The query terms to score, and the lowest rowid worth scoring (None: all).

        Within budget, everything. Over it, the commonest terms are dropped first: they match
        the most documents and weigh least in bm25 (lowest idf). If even the rarest term alone
        is over budget, only its newest matches (rowids grow with insertion) are scored.
        """
        budget = self._max_scored
        if budget <= 0 or await self._matches(terms, parts) <= budget:
            return terms, None
        frequency = {t: await self._matches([t], parts) for t in terms}
        present = sorted((t for t in terms if frequency[t]), key=frequency.__getitem__)
        kept: list[str] = []
        spent = 0
        for term in present:
            if kept and spent + frequency[term] > budget:
                break
            kept.append(term)
            spent += frequency[term]
        if spent <= budget:
            return kept, None
        match = _match_expression(kept[:1], parts)
        row = await self._db.fetchone(
            f"SELECT rowid FROM {self._fts} WHERE {self._fts} MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            [match, budget - 1],
        )
        return kept, int(row[0]) if row else None

    async def close(self) -> None:
        """Nothing to release: the Database belongs to the composition root."""
