"""The partitioned BM25 index of memory.lexical, on Postgres: the same terms, the same scores.

Documents are analysed exactly as the SQLite index does (memory.lexical.analyze: folded,
stopwords dropped, Snowball-stemmed) and every term is qualified by its partition, so a query
reads only its partitions' posting lists. Scores are FTS5's bm25 computed in SQL (k1 = 1.2,
b = 0.75; idf = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6; document length over every
partition column, average over the whole index), so both backends rank alike and recall is
equal by construction rather than by tuning a different ranking function (`ts_rank` has no idf).
The scoring budget (`max_scored`) drops the commonest terms first, as LexicalIndex does.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from memory.lexical import LexicalDoc, LexicalHit, analyze, query_terms
from memory.postgres.pool import Connection, PostgresDatabase

_log = logging.getLogger(__name__)

_MAX_PARTITIONS = 2
_K1, _B = 1.2, 0.75
_SCORE = f"""
WITH q AS (SELECT unnest(?::text[]) AS token),
stats AS (SELECT COUNT(*)::float8 AS n, GREATEST(COALESCE(SUM(length), 0), 1)::float8 AS total FROM {{e}}),
df AS (SELECT p.token, COUNT(*)::float8 AS hits FROM {{p}} p JOIN q ON q.token = p.token GROUP BY p.token),
idf AS (SELECT df.token, GREATEST(ln((stats.n - df.hits + 0.5) / (df.hits + 0.5)), 1e-6) AS w FROM df, stats)
SELECT e.doc_id, e.ts,
    SUM(idf.w * (p.tf * {_K1 + 1}) / (p.tf + {_K1} * ({1 - _B} + {_B} * e.length / (stats.total / stats.n))))
        AS score
FROM {{p}} p JOIN idf ON idf.token = p.token JOIN {{e}} e ON e.rowid = p.rowid CROSS JOIN stats
WHERE p.rowid >= ? AND e.ts >= ? AND e.ts < ?
GROUP BY e.rowid, e.doc_id, e.ts
ORDER BY score DESC, e.rowid
"""


class PostgresLexicalIndex:
    """`memory.lexical.LexicalIndex` on the shared pool; its tables come from the migrations."""

    def __init__(self, db: PostgresDatabase, *, name: str = "ltm_lex", max_scored: int = 1500) -> None:
        if name != "ltm_lex":  # the one index the migrations create
            raise ValueError(f"no postgres lexical index named {name!r}")
        self._db = db
        self._max_scored = max_scored
        self._entries = f"{name}_entries"
        self._postings = f"{name}_postings"
        self._score = _SCORE.replace("{e}", self._entries).replace("{p}", self._postings)

    async def start(self) -> None:
        await self._db.open()

    async def close(self) -> None:
        """Nothing to release: the pool belongs to the composition root."""

    async def add(self, docs: Sequence[LexicalDoc]) -> None:
        if not docs:
            return
        latest = {d.id: d for d in docs}  # the last version of a repeated id wins
        for doc in latest.values():
            if not 1 <= len(doc.partitions) <= _MAX_PARTITIONS:
                raise ValueError(f"a document needs 1 to {_MAX_PARTITIONS} partition tokens")
        async with self._db.transaction() as conn:
            await self._delete_in(conn, list(latest))
            for doc in latest.values():
                await self._insert(conn, doc)

    async def _insert(self, conn: Connection, doc: LexicalDoc) -> None:
        stems = analyze(doc.text)
        row = await conn.fetchone(
            f"INSERT INTO {self._entries} (doc_id, ts, stems, parts, length) VALUES (?, ?, ?, ?, ?)"
            " RETURNING rowid",
            (
                doc.id,
                doc.timestamp,
                " ".join(stems),
                " ".join(doc.partitions),
                len(stems) * len(doc.partitions),
            ),
        )
        assert row is not None
        counts = Counter(stems)
        await conn.executemany(
            f"INSERT INTO {self._postings} (token, rowid, tf) VALUES (?, ?, ?)",
            [(part + stem, row["rowid"], tf) for part in doc.partitions for stem, tf in counts.items()],
        )

    async def _delete_in(self, conn: Connection, ids: Sequence[str]) -> None:
        # Postings go with their entry (ON DELETE CASCADE).
        await conn.execute(f"DELETE FROM {self._entries} WHERE doc_id = ANY(?)", (list(ids),))

    async def delete(self, ids: Sequence[str]) -> None:
        if ids:
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
        rows = await self._scored(text, partitions, k=k, since=since, until=until)
        return [LexicalHit(id=str(r["doc_id"]), score=float(r["score"])) for r in rows]

    async def search_within(
        self, text: str, *, partitions: Sequence[str], k: int, since: float, until: float
    ) -> tuple[list[LexicalHit], list[LexicalHit]]:
        """The best k anywhere and the best k stamped inside [since, until), from one scoring."""
        rows = await self._scored(text, partitions, k=None if self._max_scored > 0 else k)
        anywhere = [LexicalHit(id=str(r["doc_id"]), score=float(r["score"])) for r in rows[:k]]
        inside = [
            LexicalHit(id=str(r["doc_id"]), score=float(r["score"]))
            for r in rows
            if since <= float(r["ts"]) < until
        ]
        if self._max_scored <= 0:  # no budget: the interval's own pass, as LexicalIndex does
            inside = await self.search(text, partitions=partitions, k=k, since=since, until=until)
        return anywhere, inside[:k]

    async def _scored(
        self,
        text: str,
        partitions: Sequence[str],
        *,
        k: int | None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Any]:
        terms = query_terms(text)
        if not terms or not partitions or (k is not None and k <= 0):
            return []
        tokens, newest = await self._affordable([p + t for t in terms for p in partitions], partitions, terms)
        if not tokens:
            return []
        sql = self._score + (" LIMIT ?" if k is not None else "")
        params: list[object] = [
            tokens,
            newest,
            -1e300 if since is None else since,
            1e300 if until is None else until,
        ]
        return list(await self._db.fetchall(sql, params + ([k] if k is not None else [])))

    async def _affordable(
        self, tokens: list[str], partitions: Sequence[str], terms: Sequence[str]
    ) -> tuple[list[str], int]:
        """The qualified tokens to score and the lowest rowid worth scoring (as LexicalIndex)."""
        budget = self._max_scored
        if budget <= 0 or await self._matches(tokens) <= budget:
            return tokens, 0  # the common case: one cheap count (an upper bound, see _matches)
        by_term = {t: [p + t for p in partitions] for t in terms}
        frequency = {t: await self._matches(by_term[t]) for t in terms}
        kept: list[str] = []
        spent = 0
        for term in sorted((t for t in terms if frequency[t]), key=frequency.__getitem__):
            if kept and spent + frequency[term] > budget:
                break
            kept.append(term)
            spent += frequency[term]
        chosen = [token for term in kept for token in by_term[term]]
        if spent <= budget:
            return chosen, 0
        row = await self._db.fetchone(
            f"SELECT DISTINCT rowid FROM {self._postings} WHERE token = ANY(?)"
            " ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            (by_term[kept[0]], budget - 1),
        )
        return chosen, int(row["rowid"]) if row else 0

    async def _matches(self, tokens: Sequence[str]) -> int:
        """Documents matching any of `tokens`; when that is over the budget, exactly, else the sum of
        their posting counts (a document matching two tokens counts twice: never under the budget
        wrongly, and no DISTINCT over every posting for the usual small query)."""
        row = await self._db.fetchone(
            f"SELECT COUNT(*) AS n FROM {self._postings} WHERE token = ANY(?)", (list(tokens),)
        )
        postings = int(row["n"]) if row else 0
        if postings <= self._max_scored:
            return postings
        row = await self._db.fetchone(
            f"SELECT COUNT(DISTINCT rowid) AS n FROM {self._postings} WHERE token = ANY(?)", (list(tokens),)
        )
        return int(row["n"]) if row else 0
