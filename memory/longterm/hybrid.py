"""HybridMemory: the `LongTermMemory` behind the engine.

add:    items -> SQLite item table (truth) + BM25 (FTS5) + vectors (Chroma, per-owner partitions).
search: only the partitions the Visibility allows are searched (filter before ranking); dense and
        lexical rankings, plus the same two restricted to a time expression's interval when the query
        has one, are fused by reciprocal rank fusion; a small recency bonus; near-duplicates collapsed.
        A small visible set (the common case: a few thousand items) is ranked by exact cosine over
        the item table's vectors, so no partition's HNSW index has to be loaded cold; a large one
        goes to Chroma. Lexical scoring is budgeted in LexicalIndex so a heavy partition stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from memory.embeddings.base import Embedder, EmbeddingMismatchError, PartEmbedder
from memory.lexical import LexicalDoc, LexicalIndex, partition_token
from memory.longterm import partitions
from memory.longterm.exact import Ranked, Rows, exact_rankings
from memory.longterm.fusion import collapse_near_duplicates, recency_bonus, reciprocal_rank_fusion
from memory.longterm.neighbours import neighbour_bonus
from memory.longterm.rows import (
    ADDED_COLUMNS,
    COLUMNS,
    SCHEMA,
    UPSERT_SET,
    WRITE_COLUMNS,
    epoch,
    from_row,
    pack_vector,
    to_row,
)
from memory.longterm.sentences import best_sentence_similarity, pack_sentence_vectors, sentence_spans
from memory.longterm.subject import (
    Side,
    from_persona_view,
    names_as_pronouns,
    question_side,
    without_names,
)
from memory.longterm.tuning import RetrievalTuning
from memory.postgres.lexical import PostgresLexicalIndex
from memory.postgres.pool import PostgresDatabase
from memory.records import DM_SCOPE, MemoryHit, MemoryItem, MemoryQuery, Visibility
from memory.sqlite.db import Database
from memory.timeparse import TimeRange, parse_time_range
from memory.vectors import VectorIndex

_log = logging.getLogger(__name__)
_DAY_S = 86400.0
_LEXICAL_CONTEXT_CHARS = 300  # of the context, its end (nearest the item) is indexed for BM25
_LEXICAL_NAME = "ltm_lex"
_COLLECTION_PREFIX = "ltm-"  # every long-term memory collection (see partitions)
_ROOM_PREFIX = "ltm-r-"  # the room partitions (partitions.room_collection)


class HybridMemory:
    """The Database (SQLite, or Postgres with DATABASE_URL), VectorIndex and Embedder are owned
    (opened/closed) by the composition root. The SQL is written once, for both."""

    def __init__(
        self,
        *,
        db: Database | PostgresDatabase,
        vectors: VectorIndex,
        embedder: Embedder,
        tuning: RetrievalTuning | None = None,
    ) -> None:
        self._db = db
        self._vectors = vectors
        self._embedder = embedder
        self._lexical: LexicalIndex | PostgresLexicalIndex = (
            PostgresLexicalIndex(db, name=_LEXICAL_NAME)
            if isinstance(db, PostgresDatabase)
            else LexicalIndex(db, name=_LEXICAL_NAME)
        )
        self._tuning = tuning or RetrievalTuning()
        self._started = False
        self._warming: asyncio.Task[list[str]] | None = None

    async def start(self) -> None:
        if self._started:
            return
        await self._prepare()
        await self._check_model()
        self._started = True
        if self._tuning.warm_partitions > 0 and self._warming is None:
            self._warming = asyncio.create_task(self._warm(), name="ltm-warm-partitions")

    async def _prepare(self) -> None:
        await self._db.open()
        if isinstance(self._db, Database):  # Postgres: the tables come from its migrations
            await self._db.ensure_schema("ltm_items", SCHEMA)
            columns = {str(r[1]) for r in await self._db.fetchall("PRAGMA table_info(ltm_items)")}
            for name, ddl in ADDED_COLUMNS.items():
                if name not in columns:
                    await self._db.execute(ddl)
        await self._lexical.start()

    def _model(self) -> str:
        return f"{self._embedder.model_id} (dim {self._embedder.dim})"

    async def _check_model(self) -> None:
        """Vectors of two models are not comparable: a store embedded with another model is
        refused (the exact scan would otherwise rank by meaningless cosines) until reindexed."""
        row = await self._db.fetchone("SELECT value FROM ltm_meta WHERE key = 'embedder'")
        if row is None:  # a new store, or one from before the marker: its vectors are this model's
            await self._db.execute("INSERT INTO ltm_meta(key, value) VALUES ('embedder', ?)", [self._model()])
        elif str(row[0]) != self._model():
            raise EmbeddingMismatchError(
                f"long-term memory was embedded with {row[0]}, but the configured embedder is "
                f"{self._model()}: run `familiar memory reindex` to re-embed it, or switch back"
            )

    async def reindex(self, progress: Callable[[int, int], None] | None = None, *, batch: int = 256) -> int:
        """Re-embed every item with the configured embedder (after a model change); resumable:
        the marker names the new model only once every item carries its vector."""
        await self._prepare()
        marker = f"reindexing: {self._model()}"
        await self._db.execute(
            "INSERT INTO ltm_meta(key, value) VALUES ('embedder', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [marker],
        )
        places = await self._db.fetchall("SELECT DISTINCT owner, scope FROM ltm_items")
        for name in sorted({n for r in places for n in partitions.collections_of(str(r[0]), str(r[1]))}):
            await self._vectors.drop(name)  # a collection refuses vectors of another model
        total = int((await self._db.fetchone("SELECT COUNT(*) FROM ltm_items") or [0])[0])
        done, after = 0, ""
        while chunk := await self._items_after(after, batch):
            await self._reembed(chunk)
            done, after = done + len(chunk), chunk[-1].id
            if progress is not None:
                progress(done, total)
        await self._db.execute("UPDATE ltm_meta SET value = ? WHERE key = 'embedder'", [self._model()])
        self._started = False  # the next use checks the new marker
        return done

    async def _items_after(self, after: str, limit: int) -> list[MemoryItem]:
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM ltm_items WHERE id > ? ORDER BY id LIMIT ?", [after, limit]
        )
        return [from_row(r) for r in rows]

    async def _reembed(self, items: Sequence[MemoryItem]) -> None:
        vectors, by_sentence = await self._embed(items)
        await self._upsert_vectors(items, vectors)
        await self._db.executemany(
            "UPDATE ltm_items SET vec = ?, svec = ? WHERE id = ?",
            [(pack_vector(v), s, i.id) for i, v, s in zip(items, vectors, by_sentence, strict=True)],
        )

    async def warmed(self) -> list[str]:
        """The partitions the start-up warming loaded (waits for it; [] when it is off or failed)."""
        return [] if self._warming is None else await asyncio.shield(self._warming)

    async def close(self) -> None:
        """Stops the warming task if it is still running; idempotent."""
        self._started = False
        warming, self._warming = self._warming, None
        if warming is not None:
            warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await warming

    async def _warm(self) -> list[str]:
        try:
            names = await self._large_partitions(self._tuning.warm_partitions)
            if not names:
                return []
            probe = [0.0] * self._embedder.dim
            probe[0] = 1.0
            started = time.perf_counter()
            for name in names:
                await self._vectors.query(name, embedding=probe, k=1)
            _log.info(
                "loaded %d large memory partitions in %.1f s", len(names), time.perf_counter() - started
            )
            return names
        except asyncio.CancelledError:
            raise
        except Exception:  # an optimisation only: a failure costs the first search its load time
            _log.warning("warming large memory partitions failed; they load on first use", exc_info=True)
            return []

    async def _large_partitions(self, limit: int) -> list[str]:
        """Vector partitions holding more than the exact-scan limit, most recently written first."""
        over = self._tuning.exact_scan_limit
        owners = await self._db.fetchall(
            "SELECT owner, scope = ? AS dm, MAX(ts) AS last FROM ltm_items GROUP BY owner, dm"
            " HAVING COUNT(*) > ? ORDER BY last DESC LIMIT ?",
            [DM_SCOPE, over, limit],
        )
        rooms = await self._db.fetchall(
            "SELECT scope, MAX(ts) AS last FROM ltm_items WHERE scope != ? GROUP BY scope"
            " HAVING COUNT(*) > ? ORDER BY last DESC LIMIT ?",
            [DM_SCOPE, over, limit],
        )
        found = [(float(r[2]), partitions.owner_collection(str(r[0]), dm=bool(r[1]))) for r in owners]
        found += [(float(r[1]), partitions.room_collection(str(r[0]))) for r in rooms]
        return [name for _, name in sorted(found, reverse=True)[:limit]]

    # ---- writing

    async def add(self, items: Sequence[MemoryItem]) -> None:
        await self.start()
        unique = list({item.id: item for item in items}.values())
        new = await self._unknown(unique)
        if not new:
            return
        vectors, by_sentence = await self._embed(new)
        await self._write(new, vectors, by_sentence)

    async def _embed(
        self, items: Sequence[MemoryItem], *, own: bool = True
    ) -> tuple[list[list[float]], list[bytes | None]]:
        """Each item's own vector (its text's, turned toward its context's: see
        RetrievalTuning.context_weight), and its sentences' vectors packed (None for a one-sentence
        item); with `own` False only what the sentences need is run.

        The local model pools each sentence from the run that embeds the item's text ("late
        chunking"), so sentences cost no extra model run: LoCoMo dev R@10, against embedding each
        sentence on its own, tuned part -0.3 own / -0.9 persona, aside -0.4 / -0.3, for ingest
        as fast as without sentence vectors (245 against 247-250 items/s; on their own: 194 against
        291). An embedder that cannot (a provider's API) embeds the sentences as texts of their own.
        """
        texts = [item.text for item in items]
        spans = [sentence_spans(text) if self._tuning.sentence_weight > 0 else [] for text in texts]
        weight = self._tuning.context_weight if own else 0.0
        contexts = [item.context if weight > 0 else "" for item in items]
        # A reply's context is the message stored beside it: that text is not run twice. The
        # persona's earlier line, a message's context, the embedder may still hold (OnnxEmbedder).
        stored = set(texts)
        extra = [c for c in dict.fromkeys(contexts) if c and c not in stored]
        if isinstance(self._embedder, PartEmbedder):
            if not own and not any(spans):
                return [], [None] * len(items)
            parts_run = self._embedder.embed_parts(texts, spans)
            if extra:
                (whole, by_part), extra_vectors = await asyncio.gather(parts_run, self._embedder.embed(extra))
            else:
                (whole, by_part), extra_vectors = await parts_run, []
            packed = [pack_sentence_vectors(found) for found in by_part]
        else:
            split = [[text[a:b] for a, b in found] for text, found in zip(texts, spans, strict=True)]
            own_texts = texts if own else []
            embedded = await self._embedder.embed(own_texts + extra + [s for parts in split for s in parts])
            whole, rest = embedded[: len(own_texts)], embedded[len(own_texts) :]
            extra_vectors, rest = rest[: len(extra)], rest[len(extra) :]
            packed = []
            for parts in split:
                packed.append(pack_sentence_vectors(rest[: len(parts)]))
                rest = rest[len(parts) :]
        if not own:
            return [], packed
        known = dict(zip(texts, whole, strict=True)) | dict(zip(extra, extra_vectors, strict=True))
        vectors = [
            _turned_toward(vector, known[context], weight) if context else vector
            for vector, context in zip(whole, contexts, strict=True)
        ]
        return vectors, packed

    async def restore(self, stored: Sequence[tuple[MemoryItem, Sequence[float]]]) -> int:
        """Items moved from another store with the vectors it kept (`familiar memory move`): the
        same model's, so nothing is embedded again. Items already here are skipped; returns how
        many were written."""
        await self.start()
        vectors = {item.id: vector for item, vector in stored}
        new = await self._unknown([item for item, _ in stored])
        if new:
            # The rows moved hold no sentence vectors: those are embedded here (a move then ranks
            # as the store it came from did), the items' own vectors are not.
            _, by_sentence = await self._embed(new, own=False)
            await self._write(new, [vectors[item.id] for item in new], by_sentence)
        return len(new)

    async def _write(
        self,
        new: Sequence[MemoryItem],
        vectors: Sequence[Sequence[float]],
        by_sentence: Sequence[bytes | None],
    ) -> None:
        await self._upsert_vectors(new, vectors)
        await self._lexical.add(
            [
                LexicalDoc(
                    id=i.id,
                    text=f"{i.text}\n{i.context[-_LEXICAL_CONTEXT_CHARS:]}"
                    if self._tuning.lexical_context
                    else i.text,
                    partitions=partitions.item_tokens(i),
                    timestamp=epoch(i.created_at),
                )
                for i in new
            ]
        )
        # The item row is written last: it marks the item complete, so a retried add redoes the rest.
        marks = ",".join("?" * len(WRITE_COLUMNS.split(",")))
        await self._db.executemany(
            f"INSERT INTO ltm_items({WRITE_COLUMNS}) VALUES ({marks})"
            f" ON CONFLICT (id) DO UPDATE SET {UPSERT_SET}",
            [to_row(i, v, s) for i, v, s in zip(new, vectors, by_sentence, strict=True)],
        )

    async def _unknown(self, items: Sequence[MemoryItem]) -> list[MemoryItem]:
        known: set[str] = set()
        ids = [i.id for i in items]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self._db.fetchall(
                f"SELECT id FROM ltm_items WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            known.update(str(r[0]) for r in rows)
        return [i for i in items if i.id not in known]

    async def _upsert_vectors(self, items: Sequence[MemoryItem], vectors: Sequence[Sequence[float]]) -> None:
        groups: dict[str, list[int]] = defaultdict(list)
        for index, item in enumerate(items):
            for name in partitions.item_collections(item):
                groups[name].append(index)
        for name, indexes in groups.items():
            await self._vectors.upsert(
                name,
                ids=[items[i].id for i in indexes],
                embeddings=[vectors[i] for i in indexes],
                metadatas=[
                    {"owner": items[i].owner, "scope": items[i].scope, "ts": epoch(items[i].created_at)}
                    for i in indexes
                ],
            )

    # ---- reading

    async def search(self, query: MemoryQuery) -> list[MemoryHit]:
        await self.start()
        if not query.text.strip() or query.k <= 0 or not query.visibility.owners:
            return []
        tuning = self._tuning
        n = max(tuning.candidates, 4 * query.k)
        interval = parse_time_range(query.text, query.now)
        side = question_side(query.text, asker_name=query.asker_name, persona_name=query.persona_name)
        dense_text = query.text
        if tuning.dense_names_as_pronouns:
            dense_text = names_as_pronouns(
                dense_text, asker_name=query.asker_name, persona_name=query.persona_name
            )
        if side == "assistant":
            dense_text = from_persona_view(dense_text)
        lexical_text = query.text
        if tuning.lexical_without_names:
            lexical_text = without_names(query.text, (query.asker_name, query.persona_name))
        rankings = await self._rankings(
            lexical_text,
            dense_text=dense_text,
            collections=partitions.visible_collections(query.visibility),
            tokens=partitions.visible_tokens(query.visibility),
            visibility=query.visibility,
            n=n,
            interval=interval,
        )
        scores = reciprocal_rank_fusion(rankings, k=tuning.rrf_k)
        if not scores:
            return []
        for item_id, bonus in (await self._neighbour_bonus(scores)).items():
            scores[item_id] += bonus
        # Only the best fused candidates are read back from SQLite; the recency bonus (at most a
        # third of one first-place vote) reorders near neighbours, it is not meant to rescue
        # items that no ranking liked.
        shortlist = sorted(scores, key=scores.__getitem__, reverse=True)[: max(6 * query.k, 60)]
        items = await self._load(shortlist)
        scored = self._score(items, scores, query, side)
        collapsed = collapse_near_duplicates(
            scored,
            limit=query.k,
            threshold=tuning.duplicate_threshold,
            absorb_derived=tuning.absorb_derived,
            absorb_siblings=tuning.absorb_siblings,
        )
        return [MemoryHit(item=item, score=score) for item, score in collapsed]

    async def _neighbour_bonus(self, scores: dict[str, float]) -> dict[str, float]:
        tuning = self._tuning
        if tuning.neighbour_weight <= 0 or tuning.neighbour_turns <= 0:
            return {}
        best = sorted(scores, key=scores.__getitem__, reverse=True)[: tuning.neighbour_sources]
        # Every turn of the same person in the same place within the gap of a best turn; only
        # candidates (visible by construction) can gain, so this read widens nothing.
        rows = await self._db.fetchall(
            "SELECT t.id, n.id, n.ts FROM ltm_items t JOIN ltm_items n ON n.owner = t.owner"
            " AND n.ts BETWEEN t.ts - ? AND t.ts + ? AND n.scope = t.scope AND n.kind = 'turn'"
            f" WHERE t.id IN ({','.join('?' * len(best))}) AND t.kind = 'turn'",
            [tuning.neighbour_gap_s, tuning.neighbour_gap_s, *best],
        )
        return neighbour_bonus(
            scores,
            [(str(r[0]), str(r[1]), float(r[2])) for r in rows],
            weight=tuning.neighbour_weight,
            turns=tuning.neighbour_turns,
        )

    def _score(
        self, items: Sequence[MemoryItem], scores: dict[str, float], query: MemoryQuery, side: Side | None
    ) -> list[tuple[MemoryItem, float]]:
        """The visible, not-future items with their fused score, side and kind weights and recency
        bonus, best first."""
        tuning = self._tuning
        now_s = epoch(query.now)
        scored: list[tuple[MemoryItem, float]] = []
        for item in items:
            if not query.visibility.allows(item.owner, item.scope):
                continue  # defence in depth: partitions already excluded it
            ts = epoch(item.created_at)
            if ts > now_s + tuning.future_slack_s:
                continue
            bonus = recency_bonus(
                (now_s - ts) / _DAY_S,
                weight=tuning.recency_weight,
                half_life_days=tuning.recency_half_life_days,
                k=tuning.rrf_k,
            )
            scored.append((item, scores.get(item.id, 0.0) * self._weight(item, side) + bonus))
        scored.sort(key=lambda pair: pair[1], reverse=True)
        return scored

    def _weight(self, item: MemoryItem, side: Side | None) -> float:
        tuning = self._tuning
        weight = 1.0 if side is None or item.role == side else tuning.other_side_weight
        return weight * tuning.derived_weight if item.kind == "derived" else weight

    async def _rankings(
        self,
        text: str,
        *,
        dense_text: str,
        collections: Sequence[str],
        tokens: Sequence[str],
        visibility: Visibility,
        n: int,
        interval: TimeRange | None,
    ) -> list[tuple[float, list[str]]]:
        """Ranked id lists with their fusion weights; the lexical ones run while the query embeds."""
        tuning = self._tuning
        bounds = None if interval is None else (epoch(interval.start), epoch(interval.end))

        async def dense_lists() -> Ranked:
            # The visible rows are read from SQLite while the model embeds the query.
            async with asyncio.TaskGroup() as group:
                small = group.create_task(self._visible_rows(visibility, limit=tuning.exact_scan_limit))
                embedded = group.create_task(self._embedder.embed([dense_text]))
            rows, embedding = small.result(), embedded.result()
            if rows is not None:
                return exact_rankings(rows, embedding[0], n, bounds)
            return await self._ann_rankings(embedding[0], collections, visibility, n, bounds)

        async with asyncio.TaskGroup() as group:
            dense = group.create_task(dense_lists())
            lexical = group.create_task(self._lex(text, tokens, n, bounds))
        lexical_anywhere, lexical_inside = lexical.result()
        found = dense.result()
        # Without a best-sentence list (sentence_pool 0 on a partition too big for the exact scan),
        # the item's own vector casts both dense votes, as it did before sentences were kept.
        rankings = [
            (tuning.dense_weight, found.anywhere),
            (tuning.sentence_weight, found.best_sentence or found.anywhere),
            (tuning.lexical_weight, lexical_anywhere),
        ]
        if bounds is not None:
            rankings.append((tuning.time_weight, found.inside))
            rankings.append((tuning.time_weight, lexical_inside))
        return rankings

    async def _visible_rows(
        self, visibility: Visibility, *, limit: int, bounds: tuple[float, float] | None = None
    ) -> Rows | None:
        """(id, ts, vector, sentence vectors) of every visible item (inside `bounds`), or None when
        more than `limit`."""
        if not await self._fits(visibility, limit=limit, bounds=bounds):
            return None
        return await self._fetch_rows(visibility, bounds, with_sentences=self._tuning.sentence_weight > 0)

    async def _fits(self, visibility: Visibility, *, limit: int, bounds: tuple[float, float] | None) -> bool:
        """Whether at most `limit` items are visible (inside `bounds`).

        Counts the owners' items (and the shared room's) on the (owner, ts) and (scope, ts)
        indexes alone, an upper bound of the visible set, so a large partition costs one cheap
        bounded count, never a scan.
        """
        if limit <= 0:
            return False
        span, span_params = _span_sql(bounds)
        owners = sorted(visibility.owners)
        marks = ",".join("?" * len(owners))
        total = await self._count(f"owner IN ({marks}){span}", [*owners, *span_params], limit)
        if visibility.room_shared and visibility.scope != DM_SCOPE and total <= limit:
            total += await self._count(f"scope = ?{span}", [visibility.scope, *span_params], limit)
        return total <= limit

    async def _fetch_rows(
        self, visibility: Visibility, bounds: tuple[float, float] | None, *, with_sentences: bool = False
    ) -> Rows:
        span, span_params = _span_sql(bounds)
        clauses, params = _visibility_sql(visibility)
        rows = await self._db.fetchall(
            f"SELECT id, ts, vec{', svec' if with_sentences else ''} FROM ltm_items WHERE ({clauses}){span}",
            [*params, *span_params],
        )
        return Rows(
            ids=[str(r[0]) for r in rows],
            ts=np.fromiter((float(r[1]) for r in rows), dtype=np.float64, count=len(rows)),
            blobs=[r[2] for r in rows],
            sentence_blobs=[r[3] for r in rows] if with_sentences else [],
        )

    async def _count(self, where: str, params: Sequence[object], limit: int) -> int:
        row = await self._db.fetchone(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM ltm_items WHERE {where} LIMIT ?) AS capped",
            [*params, limit + 1],
        )
        return int(row[0]) if row else 0

    async def _dense(
        self, embedding: Sequence[float], collections: Sequence[str], n: int
    ) -> dict[str, float]:
        """The n nearest visible items' cosines to the query, nearest first, over the partitions."""
        per_collection = await asyncio.gather(
            *(self._vectors.query(name, embedding=embedding, k=n) for name in collections)
        )
        best: dict[str, float] = {}
        for hits in per_collection:
            for hit in hits:
                best[hit.id] = min(hit.distance, best.get(hit.id, hit.distance))
        # The index's space is cosine: distance is 1 - cosine.
        return {i: 1.0 - best[i] for i in sorted(best, key=best.__getitem__)[:n]}

    async def _ann_rankings(
        self,
        embedding: Sequence[float],
        collections: Sequence[str],
        visibility: Visibility,
        n: int,
        bounds: tuple[float, float] | None,
    ) -> Ranked:
        """The dense lists of a visible set too big for the exact scan, from the ANN index.

        The index holds the items' own vectors only, so the best-sentence list re-ranks a wider
        pool of their nearest by the sentence vectors our rows keep. An interval usually holds few
        items: scoring them all is cheap and, unlike a filtered ANN query (slow in Chroma), finds
        the right memory even when the query words are generic ("what did I do yesterday?"). When
        it holds many, the nearest of a widened ANN query that fall inside it stand in, so a heavy
        user's search stays bounded. One read of our rows gives the pool's sentence vectors and
        times (not Chroma's metadata, read hit by hit there).
        """
        tuning = self._tuning
        sentences = tuning.sentence_weight > 0 and tuning.sentence_pool > n
        scan_interval = bounds is not None and await self._fits(
            visibility, limit=tuning.interval_scan_limit, bounds=bounds
        )
        widened = bounds is not None and not scan_interval
        k = max(tuning.sentence_pool if sentences else n, n * max(1, tuning.interval_widen) if widened else n)
        async with asyncio.TaskGroup() as group:
            interval_rows = group.create_task(self._fetch_rows(visibility, bounds)) if scan_interval else None
            dense = group.create_task(self._dense(embedding, collections, k))
        near = dense.result()
        ids = list(near)
        rows = await self._rows_of(ids, sentences=sentences) if sentences or widened else []
        best: list[str] = []
        if sentences:
            own = np.fromiter((near[str(r[0])] for r in rows), dtype=np.float32, count=len(rows))
            query = np.asarray(embedding, dtype=np.float32)
            by_sentence = best_sentence_similarity([r[2] for r in rows], own, query)
            best = [str(rows[int(i)][0]) for i in np.argsort(-by_sentence, kind="stable")[:n]]
        inside: list[str] = []
        if interval_rows is not None:
            inside = exact_rankings(interval_rows.result(), embedding, n, None).anywhere
        elif bounds is not None:
            stamps = {str(r[0]): float(r[1]) for r in rows}
            inside = [i for i in ids if i in stamps and bounds[0] <= stamps[i] < bounds[1]][:n]
        return Ranked(anywhere=ids[:n], best_sentence=best, inside=inside)

    async def _rows_of(self, ids: Sequence[str], *, sentences: bool) -> Sequence[Sequence[Any]]:
        """(id, ts[, svec]) of these items, in no particular order."""
        if not ids:
            return []
        return await self._db.fetchall(
            f"SELECT id, ts{', svec' if sentences else ''} FROM ltm_items"
            f" WHERE id IN ({','.join('?' * len(ids))})",
            list(ids),
        )

    async def _lex(
        self, text: str, tokens: Sequence[str], n: int, bounds: tuple[float, float] | None
    ) -> tuple[list[str], list[str]]:
        """The lexical list anywhere, and (with bounds) the one inside the interval; else []."""
        if bounds is None:
            hits = await self._lexical.search(text, partitions=tokens, k=n)
            return [hit.id for hit in hits], []
        anywhere, inside = await self._lexical.search_within(
            text, partitions=tokens, k=n, since=bounds[0], until=bounds[1]
        )
        return [hit.id for hit in anywhere], [hit.id for hit in inside]

    async def _load(self, ids: Sequence[str]) -> list[MemoryItem]:
        if not ids:
            return []
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM ltm_items WHERE id IN ({','.join('?' * len(ids))})", list(ids)
        )
        return [from_row(r) for r in rows]

    # ---- export and forget

    async def export(self, owners: frozenset[str]) -> list[MemoryItem]:
        await self.start()
        if not owners:
            return []
        rows = await self._db.fetchall(
            f"SELECT {COLUMNS} FROM ltm_items WHERE owner IN ({','.join('?' * len(owners))}) ORDER BY ts, id",
            sorted(owners),
        )
        return [from_row(r) for r in rows]

    async def forget(self, owners: frozenset[str], phrase: str | None = None) -> int:
        """Remove the owners' items (all, or those containing `phrase`, any case) from every index.

        Forgetting all also sweeps every index by owner (`_forget_unlisted`)."""
        if phrase is None:
            await self._forget_unlisted(owners)
        items = everything = await self.export(owners)
        if phrase is not None:
            needle = phrase.casefold()
            items = [i for i in everything if needle in i.text.casefold()]
            # What was learned from a forgotten turn goes with it, whatever its words.
            sources = {s for i in items if i.kind == "turn" for s in i.source_ids}
            items += [
                i
                for i in everything
                if i.kind == "derived" and needle not in i.text.casefold() and sources & set(i.source_ids)
            ]
        await self._delete(items)
        if phrase is not None:
            await self._scrub_context(everything, items, phrase.casefold())
        _log.info("forgot %d long-term memories", len(items))
        return len(items)

    async def _scrub_context(
        self, everything: Sequence[MemoryItem], gone: Sequence[MemoryItem], needle: str
    ) -> None:
        """An item kept whose context (the line it answered) holds the phrase is indexed again
        without that context: its own words stay, the forgotten ones leave every index."""
        removed = {i.id for i in gone}
        stale = [i for i in everything if i.id not in removed and needle in i.context.casefold()]
        if stale:
            await self._delete(stale)
            await self.add([dataclasses.replace(i, context="") for i in stale])

    async def remove(self, owners: frozenset[str], ids: Sequence[str]) -> int:
        await self.start()
        wanted = list(dict.fromkeys(ids))
        items = [i for i in await self._load(wanted) if i.owner in owners] if wanted and owners else []
        await self._delete(items)
        return len(items)

    async def _delete(self, items: Sequence[MemoryItem]) -> None:
        if not items:
            return
        groups: dict[str, list[str]] = defaultdict(list)
        for item in items:
            for name in partitions.item_collections(item):
                groups[name].append(item.id)
        for name, ids in groups.items():
            for start in range(0, len(ids), 1000):
                await self._vectors.delete(name, ids=ids[start : start + 1000])
        ids = [i.id for i in items]
        await self._lexical.delete(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            await self._db.execute(f"DELETE FROM ltm_items WHERE id IN ({','.join('?' * len(chunk))})", chunk)

    async def _forget_unlisted(self, owners: frozenset[str]) -> None:
        """Index entries of `owners` the item table does not list: an add cut short (vectors and
        lexical entry written, row not yet) leaves entries only partitions and metadata name."""
        if not owners:
            return
        tokens = {partition_token(kind, owner) for owner in owners for kind in ("d", "r")}
        rows = await self._db.fetchall(
            f"SELECT doc_id, parts FROM {_LEXICAL_NAME}_entries"
            " WHERE doc_id NOT IN (SELECT id FROM ltm_items)"
        )
        await self._lexical.delete([str(r[0]) for r in rows if tokens & set(str(r[1]).split())])
        # The owners' own partitions, and every room's: a room partition holds many people's items.
        names = [partitions.owner_collection(o, dm=dm) for o in sorted(owners) for dm in (True, False)]
        names += await self._vectors.names(_ROOM_PREFIX)
        where = {"owner": {"$in": sorted(owners)}}
        for name in names:
            await self._vectors.delete(name, where=where)

    async def reconcile(self, *, settle_s: float = 0.0) -> int:
        """Remove index entries whose item row is missing; run at start, before any add.

        `add` writes the row last, so a kill mid-add leaves vectors and a lexical entry without
        it (the add itself is redone from the outbox). When other processes may be adding at this
        moment (a shared queue's workers), `settle_s` > 0: only entries still without a row after
        that long go, so an add in flight elsewhere keeps its half-written entries. Returns how
        many entries went.
        """
        await self.start()
        suspects = await self._orphans()
        if settle_s > 0 and any(suspects.values()):
            await asyncio.sleep(settle_s)
            again = await self._orphans()
            suspects = {
                name: [i for i in ids if i in set(again.get(name, ()))] for name, ids in suspects.items()
            }
        lexical = suspects.pop(_LEXICAL_NAME, [])
        await self._lexical.delete(lexical)
        removed = len(lexical)
        for name, missing in suspects.items():
            for start in range(0, len(missing), 1000):
                await self._vectors.delete(name, ids=missing[start : start + 1000])
            removed += len(missing)
        if removed:
            _log.info("removed %d memory index entries left without their item by a crash", removed)
        return removed

    async def _orphans(self) -> dict[str, list[str]]:
        """Index entries without an item row: the lexical index's under its name, vectors by collection."""
        lexical = await self._db.fetchall(
            f"SELECT doc_id FROM {_LEXICAL_NAME}_entries WHERE doc_id NOT IN (SELECT id FROM ltm_items)"
        )
        found = {_LEXICAL_NAME: [str(r[0]) for r in lexical]}
        for name in await self._vectors.names(_COLLECTION_PREFIX):
            ids = await self._vectors.ids(name)
            known = await self._known_ids(ids)
            found[name] = [i for i in ids if i not in known]
        return found

    async def _known_ids(self, ids: Sequence[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            rows = await self._db.fetchall(
                f"SELECT id FROM ltm_items WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            known.update(str(r[0]) for r in rows)
        return known


def _turned_toward(vector: Sequence[float], context: Sequence[float], weight: float) -> list[float]:
    """The unit vector of `vector` + `weight` x `context`: a text read next to what it answered."""
    summed = np.asarray(vector, dtype=np.float32) + weight * np.asarray(context, dtype=np.float32)
    turned: list[float] = (summed / max(float(np.linalg.norm(summed)), 1e-12)).tolist()
    return turned


def _span_sql(bounds: tuple[float, float] | None) -> tuple[str, list[object]]:
    return ("", []) if bounds is None else (" AND ts >= ? AND ts < ?", [bounds[0], bounds[1]])


def _visibility_sql(visibility: Visibility) -> tuple[str, list[object]]:
    """Visibility.allows as SQL over (owner, scope): the one rule, from memory.visibility."""
    return visibility.sql()
