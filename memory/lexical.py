"""A persistent, incremental BM25 index on SQLite FTS5, partitioned so filtering precedes ranking.

Every indexed term is qualified by a partition (an opaque hash of an owner/scope bucket): a
document in partition P is indexed as the tokens "P+stem" for each of its words. A search asks
only for its allowed partitions' terms, so documents elsewhere are never read, and bm25's
document frequencies (read from every queried term's posting list on each query) come from the
caller's partitions alone: a query's cost follows the size of the caller's partitions, not the
whole index's, and no partition-wide filter term is ever counted.

Words are folded (case, diacritics), stripped of stopwords and stemmed (Snowball English) here
rather than by the FTS5 tokenizer, and the stems are kept per document, so a delete can hand FTS5
exactly the tokens it indexed even if the stemmer changes later.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import aiosqlite
import Stemmer

from memory.sqlite.db import Database

_log = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_PARTITION = re.compile(r"^[a-z0-9]{4,40}$")
_MAX_PARTITIONS = 2  # one FTS column each: bm25 normalises length per column
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
_STEMMER = Stemmer.Stemmer("english")


def partition_token(kind: str, value: str) -> str:
    """An opaque, tokenizer-safe token for one partition (e.g. kind "o" and an owner identity)."""
    return f"p{kind}{hashlib.sha1(value.encode()).hexdigest()[:20]}x"


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    if not word.isascii():  # "café" and "cafe" are one word; the stemmer expects folded input
        word = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    return str(_STEMMER.stemWord(word))


def analyze(text: str) -> list[str]:
    """The stems of the words worth searching for, in order, repeats kept (they count in bm25)."""
    return [
        _stem(word)
        for word in _WORD.findall(text.casefold())
        if word.isdigit() or (word not in STOPWORDS and len(word) > 1)
    ]


def query_terms(text: str) -> list[str]:
    """The distinct stems of a query, in order."""
    return list(dict.fromkeys(analyze(text)))


def _qualified(partition: str, stems: Iterable[str]) -> str:
    return " ".join(partition + stem for stem in stems)


def _match_expression(terms: Sequence[str], partitions: Sequence[str]) -> str:
    """Any of the terms, in any of the partitions (each token quoted: query text is never syntax)."""
    return " OR ".join(f'"{p}{t}"' for p in partitions for t in terms)


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
        self._name = name
        self._entries = f"{name}_entries"
        self._terms = f"{name}_terms"
        columns = ", ".join(f"c{i}" for i in range(_MAX_PARTITIONS))
        self._columns = columns
        self._schema = f"""
            CREATE TABLE IF NOT EXISTS {self._entries} (
                rowid INTEGER PRIMARY KEY, doc_id TEXT NOT NULL UNIQUE, ts REAL NOT NULL,
                stems TEXT NOT NULL, parts TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS {self._entries}_ts ON {self._entries}(ts);
            CREATE VIRTUAL TABLE IF NOT EXISTS {self._terms} USING fts5(
                {columns}, content = '', tokenize = 'ascii');
            """

    async def start(self) -> None:
        await self._db.open()
        await self._db.ensure_schema(self._terms, self._schema)
        await self._migrate_v1()

    # ---- writing

    async def add(self, docs: Sequence[LexicalDoc]) -> None:
        if not docs:
            return
        latest = {d.id: d for d in docs}  # the last version of a repeated id wins
        for doc in latest.values():
            _check_partitions(doc.partitions)
        async with self._db.transaction() as conn:
            await self._delete_in(conn, list(latest))
            await self._insert(
                conn, [(d.id, d.timestamp, analyze(d.text), d.partitions) for d in latest.values()]
            )

    async def _insert(
        self,
        conn: aiosqlite.Connection,
        rows: Sequence[tuple[str, float, list[str], tuple[str, ...]]],
        *,
        rowids: Sequence[int] | None = None,
    ) -> None:
        if rowids is None:
            async with conn.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {self._entries}") as cur:
                found = await cur.fetchone()
            base = int(found[0]) if found else 0
            rowids = range(base + 1, base + 1 + len(rows))
        await conn.executemany(
            f"INSERT INTO {self._entries}(rowid, doc_id, ts, stems, parts) VALUES (?, ?, ?, ?, ?)",
            [
                (r, doc_id, ts, " ".join(stems), " ".join(parts))
                for r, (doc_id, ts, stems, parts) in zip(rowids, rows, strict=True)
            ],
        )
        await conn.executemany(
            f"INSERT INTO {self._terms}(rowid, {self._columns}) VALUES (?{', ?' * _MAX_PARTITIONS})",
            [(r, *_column_texts(stems, parts)) for r, (_, _, stems, parts) in zip(rowids, rows, strict=True)],
        )

    async def _delete_in(self, conn: aiosqlite.Connection, ids: Sequence[str]) -> None:
        # A contentless FTS5 table forgets a row when given the exact tokens it indexed.
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            async with conn.execute(
                f"SELECT rowid, stems, parts FROM {self._entries} WHERE doc_id IN ({marks})", chunk
            ) as cur:
                found = list(await cur.fetchall())
            if not found:
                continue
            await conn.executemany(
                f"INSERT INTO {self._terms}({self._terms}, rowid, {self._columns}) "
                f"VALUES ('delete', ?{', ?' * _MAX_PARTITIONS})",
                [(int(r[0]), *_column_texts(str(r[1]).split(), tuple(str(r[2]).split()))) for r in found],
            )
            await conn.execute(f"DELETE FROM {self._entries} WHERE doc_id IN ({marks})", chunk)

    async def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        async with self._db.transaction() as conn:
            await self._delete_in(conn, ids)

    # ---- reading

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
        terms, newest = await self._affordable(terms, partitions)
        if not terms:
            return []
        sql = f"SELECT e.doc_id, t.rank FROM {self._terms} t JOIN {self._entries} e ON e.rowid = t.rowid"
        sql += f" WHERE {self._terms} MATCH ?"
        params: list[object] = [_match_expression(terms, partitions)]
        if newest is not None:
            sql += " AND t.rowid >= ?"
            params.append(newest)
        if since is not None:
            sql += " AND e.ts >= ?"
            params.append(since)
        if until is not None:
            sql += " AND e.ts < ?"
            params.append(until)
        sql += " ORDER BY t.rank LIMIT ?"
        params.append(k)
        rows = await self._db.fetchall(sql, params)
        return [LexicalHit(id=str(r[0]), score=-float(r[1])) for r in rows]

    async def search_within(
        self, text: str, *, partitions: Sequence[str], k: int, since: float, until: float
    ) -> tuple[list[LexicalHit], list[LexicalHit]]:
        """The best k anywhere and the best k stamped inside [since, until), from one bm25 pass.

        bm25 reads every queried term's document count once per query, so one pass over the
        (budgeted) matches serves both lists.
        """
        if self._max_scored <= 0:  # no budget: one pass could mean every match, so two bounded ones
            anywhere = await self.search(text, partitions=partitions, k=k)
            return anywhere, await self.search(text, partitions=partitions, k=k, since=since, until=until)
        terms = query_terms(text)
        if not terms or not partitions or k <= 0:
            return [], []
        terms, newest = await self._affordable(terms, partitions)
        if not terms:
            return [], []
        # The matches are scored once (SQLite materializes a CTE read twice) and both lists are
        # cut to k inside SQLite: handing every scored match to Python cost more than scoring
        # them (100k items of one owner: 8.2 -> 5.0 ms).
        params: list[object] = [_match_expression(terms, partitions)]
        newer = ""
        if newest is not None:
            newer = " AND rowid >= ?"
            params.append(newest)
        sql = (
            f"WITH scored AS (SELECT rowid, rank FROM {self._terms}"
            f" WHERE {self._terms} MATCH ?{newer}),"
            f" placed AS (SELECT e.doc_id, s.rank, e.ts FROM scored s"
            f" JOIN {self._entries} e ON e.rowid = s.rowid)"
            " SELECT 0, * FROM (SELECT doc_id, rank FROM placed ORDER BY rank LIMIT ?)"
            " UNION ALL SELECT 1, * FROM"
            " (SELECT doc_id, rank FROM placed WHERE ts >= ? AND ts < ? ORDER BY rank LIMIT ?)"
        )
        rows = await self._db.fetchall(sql, [*params, k, since, until, k])
        found: tuple[list[LexicalHit], list[LexicalHit]] = ([], [])  # anywhere, inside
        ranked = sorted(rows, key=lambda r: float(r[2]))  # a compound SELECT promises no order
        for part, doc_id, rank in ranked:
            found[int(part)].append(LexicalHit(id=str(doc_id), score=-float(rank)))
        return found

    async def _matches(self, terms: Sequence[str], partitions: Sequence[str]) -> int:
        row = await self._db.fetchone(
            f"SELECT COUNT(*) FROM {self._terms} WHERE {self._terms} MATCH ?",
            [_match_expression(terms, partitions)],
        )
        return int(row[0]) if row else 0

    async def _affordable(self, terms: list[str], partitions: Sequence[str]) -> tuple[list[str], int | None]:
        """The query terms to score, and the lowest rowid worth scoring (None: all).

        Within budget, everything. Over it, the commonest terms are dropped first: they match
        the most documents and weigh least in bm25 (lowest idf). If even the rarest term alone
        is over budget, only its newest matches (rowids grow with insertion) are scored.
        """
        budget = self._max_scored
        if budget <= 0 or await self._matches(terms, partitions) <= budget:
            return terms, None
        frequency = {t: await self._matches([t], partitions) for t in terms}
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
        row = await self._db.fetchone(
            f"SELECT rowid FROM {self._terms} WHERE {self._terms} MATCH ?"
            " ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            [_match_expression(kept[:1], partitions), budget - 1],
        )
        return kept, int(row[0]) if row else None

    # ---- the first schema (raw text and partition tokens in one FTS table)

    async def _migrate_v1(self) -> None:
        """Rebuild an index written by the first schema into this one, keeping rowids (recency)."""
        old_docs, old_fts = f"{self._name}_docs", f"{self._name}_fts"
        found = await self._db.fetchone("SELECT 1 FROM sqlite_master WHERE name = ?", [old_fts])
        if found is None:
            return
        rows = await self._db.fetchall(
            f"SELECT d.rowid, d.doc_id, d.ts, f.body, f.part"
            f" FROM {old_docs} d JOIN {old_fts} f ON f.rowid = d.rowid"
        )
        _log.info(
            "rebuilding lexical index %s in its partitioned-terms form (%d documents)", self._name, len(rows)
        )
        async with self._db.transaction() as conn:
            await conn.execute(f"DELETE FROM {self._entries}")
            await conn.execute(f"DELETE FROM {self._terms}")
            for start in range(0, len(rows), 2000):
                chunk = rows[start : start + 2000]
                await self._insert(
                    conn,
                    [(str(r[1]), float(r[2]), analyze(str(r[3])), tuple(str(r[4]).split())) for r in chunk],
                    rowids=[int(r[0]) for r in chunk],
                )
            await conn.execute(f"DROP TABLE {old_fts}")
            await conn.execute(f"DROP TABLE {old_docs}")

    async def close(self) -> None:
        """Nothing to release: the Database belongs to the composition root."""


def _check_partitions(parts: Sequence[str]) -> None:
    if not 1 <= len(parts) <= _MAX_PARTITIONS or not all(_PARTITION.match(p) for p in parts):
        raise ValueError(f"a document needs 1 to {_MAX_PARTITIONS} partition tokens like partition_token()'s")


def _column_texts(stems: Sequence[str], parts: Sequence[str]) -> list[str]:
    """One column per partition: the document's stems qualified by that partition."""
    texts = [_qualified(p, stems) for p in parts]
    return texts + [""] * (_MAX_PARTITIONS - len(texts))
