"""Retrieval benchmark: evidence recall@k through the production long-term memory path.

    python -m bench.retrieval --dataset FILE.json [--k 1,5,10,25] [--json OUT]
    python -m bench.retrieval --scale 10000,100000 [--json OUT]      # search latency at N items

Every conversation is ingested through HybridMemory.add (turn ids as source ids, session times as
timestamps, each turn with the line before it as context, as the bot stores turns; no LLM) into a
fresh data directory (SQLite + embedded Chroma + the local ONNX model);
each question is answered with HybridMemory.search at the question's time, in the user's DM.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from memory.chroma import ChromaIndex
from memory.derived import derived_item
from memory.embeddings.onnx import OnnxEmbedder
from memory.longterm import HybridMemory, RetrievalTuning
from memory.longterm.sentences import sentences as split_sentences
from memory.postgres.pool import PostgresDatabase
from memory.records import DM_SCOPE, MemoryItem, MemoryQuery, Visibility
from memory.sqlite.db import Database


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _open(
    data_dir: Path, embedder: Any, tuning: RetrievalTuning | None = None
) -> tuple[Database | PostgresDatabase, ChromaIndex, HybridMemory]:
    # DATABASE_URL (an empty database): item rows and the lexical index in Postgres, as the app.
    url = os.environ.get("DATABASE_URL")
    db = PostgresDatabase(url) if url else Database(data_dir / "familiar.sqlite3")
    await db.open()
    index = ChromaIndex(model_id=embedder.model_id, dim=embedder.dim, path=data_dir / "chroma")
    await index.start()
    memory = HybridMemory(db=db, vectors=index, embedder=embedder, tuning=tuning)
    await memory.start()
    return db, index, memory


def _items(conversation: dict[str, Any]) -> list[list[MemoryItem]]:
    owner = f"bench:{conversation['id']}"
    batches = []
    for session in conversation["sessions"]:
        start = datetime.fromisoformat(session["time"])
        batches.append(
            [
                MemoryItem(
                    id=f"{conversation['id']}/{turn['id']}",
                    owner=owner,
                    scope=DM_SCOPE,
                    text=turn["text"],
                    created_at=start + timedelta(seconds=30 * n),
                    source_ids=(turn["id"],),
                    role="user" if turn["speaker"] == conversation["user"] else "assistant",
                    platform="bench",
                    context=previous["text"] if previous else "",
                )
                for n, (previous, turn) in enumerate(
                    zip([None, *session["turns"][:-1]], session["turns"], strict=True)
                )
            ]
        )
    return batches


def _fact_items(conversation: dict[str, Any]) -> list[MemoryItem]:
    """The conversation's `facts` (what a learner extracted), through the bot's derived-item path."""
    owner = f"bench:{conversation['id']}"
    return [
        derived_item(
            key=f"{conversation['id']}/fact{n}",
            owner=owner,
            scope=DM_SCOPE,
            text=fact["text"],
            said_by_persona=fact.get("speaker", conversation["user"]) != conversation["user"],
            created_at=datetime.fromisoformat(fact["time"]),
            source_ids=tuple(fact["evidence"]),
            platform="bench",
        )
        for n, fact in enumerate(conversation.get("facts", []))
        if fact.get("evidence")
    ]


async def _ingest(memory: HybridMemory, batches: list[list[MemoryItem]], *, concurrency: int) -> None:
    """Sessions are stored by several concurrent writers, as the bot's background queue does:
    while one batch is in the embedding model, another is written to Chroma and SQLite."""
    queue = iter(batches)

    async def writer() -> None:
        for batch in queue:
            await memory.add(batch)

    async with asyncio.TaskGroup() as group:
        for n in range(concurrency):
            group.create_task(writer(), name=f"bench-ingest-{n}")


async def run_dataset(
    path: Path,
    ks: list[int],
    *,
    ingest_concurrency: int = 4,
    facts: bool = True,
    aside: frozenset[str] = frozenset(),
    embed_cache: Path | None = None,
    tuning: RetrievalTuning | None = None,
) -> dict[str, Any]:
    """Recall per category, for the whole set and, when some conversations are set `aside`
    (their id's prefix before ":"), for the tuned part and the part kept aside apart."""
    data = json.loads(await asyncio.to_thread(path.read_text))
    embedder: Any = OnnxEmbedder()
    await embedder.start()
    if embed_cache is not None:
        embedder = _CachedEmbedder(embedder, embed_cache)
    conversations = {c["id"]: c for c in data["conversations"]}
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        db, index, memory = await _open(Path(tmp), embedder, tuning)
        try:
            batches = [b for c in data["conversations"] for b in _items(c)]
            if facts:
                batches += [b for c in data["conversations"] if (b := _fact_items(c))]
            turns = sum(len(b) for b in batches)
            started = time.perf_counter()
            await _ingest(memory, batches, concurrency=ingest_concurrency)
            ingest_s = time.perf_counter() - started
            recalls: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
            latencies: list[float] = []
            for q in data["questions"]:
                conversation = conversations[q["conversation"]]
                evidence = set(q["evidence"])
                part = "aside" if q["conversation"].split(":")[0] in aside else "tuned"
                category = q.get("category", "uncategorised")
                side = category.split(":")[0] if ":" in category else None
                asked = MemoryQuery(
                    text=q["question"],
                    visibility=Visibility(owners=frozenset({f"bench:{q['conversation']}"}), scope=DM_SCOPE),
                    now=datetime.fromisoformat(q["time"]),
                    asker_name=conversation["user"],
                    persona_name=conversation.get("persona", ""),
                )
                # One search per k, as the bot asks with its own k: the candidate pool grows with
                # k, so R@10 read off a k = 40 search would not be what a k = 10 caller gets.
                for k in ks:
                    query = dataclasses.replace(asked, k=k)
                    t0 = time.perf_counter()
                    hits = await memory.search(query)
                    latencies.append((time.perf_counter() - t0) * 1000)
                    found = {s for h in hits for s in h.item.source_ids}
                    share = len(evidence & found) / len(evidence) if evidence else 1.0
                    for name in _rows(category, side, part if aside else None):
                        recalls[name][k].append(share)
        finally:
            await memory.close()
            await index.close()
            await db.close()
    if isinstance(embedder, _CachedEmbedder):
        await embedder.save()
    await embedder.close()
    return {
        "dataset": str(path),
        "questions": len(data["questions"]),
        "turns": turns,
        "ingest_turns_per_s": turns / ingest_s,
        "search_ms": {"p50": _percentile(latencies, 50), "p99": _percentile(latencies, 99)},
        "recall": {
            cat: {str(k): statistics.fmean(v) for k, v in per_k.items()} | {"n": len(per_k[ks[0]])}
            for cat, per_k in recalls.items()
        },
        "embedder": embedder.model_id,
    }


def _rows(category: str, side: str | None, part: str | None) -> list[str]:
    """The report rows one question counts in: overall, its category, its side (own/persona),
    and with a split the same again under its part's name."""
    names = ["overall", category] + ([side] if side else [])
    return names + ([f"{part}/{name}" for name in names] if part else [])


class _CachedEmbedder:
    """Tuning runs only: vectors of texts seen before are read from a file instead of the model,
    so trying a ranking change does not re-embed thousands of turns (ingest speed is then not
    measured: the final numbers come from a run without the cache)."""

    def __init__(self, real: OnnxEmbedder, path: Path) -> None:
        self.model_id, self.dim = real.model_id, real.dim
        self._real, self._path = real, path
        stored: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        self._known: dict[str, list[float]] = {k: v for k, v in stored.items() if not k.startswith("\x01")}
        self._parts: dict[str, list[list[float]]] = {
            k[1:]: v for k, v in stored.items() if k.startswith("\x01")
        }

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._known]
        if missing:
            self._known.update(zip(missing, await self._real.embed(missing), strict=True))
        return [self._known[t] for t in texts]

    async def embed_parts(
        self, texts: Sequence[str], parts: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[list[list[float]], list[list[list[float]]]]:
        """As the model pools them (memory.longterm.sentences), kept under the text and its spans."""
        keys = [f"{text}\x00parts{json.dumps(list(spans))}" for text, spans in zip(texts, parts, strict=True)]
        missing = [n for n, key in enumerate(keys) if key not in self._parts]
        if missing:
            wholes, found = await self._real.embed_parts(
                [texts[n] for n in missing], [parts[n] for n in missing]
            )
            for n, whole, pooled in zip(missing, wholes, found, strict=True):
                self._known.setdefault(texts[n], whole)
                self._parts[keys[n]] = pooled
        return [self._known[t] for t in texts], [self._parts[key] for key in keys]

    async def save(self) -> None:
        known = self._known | {f"\x01{key}": pooled for key, pooled in self._parts.items()}
        await asyncio.to_thread(self._path.write_text, json.dumps(known))

    async def close(self) -> None:
        await self._real.close()


def print_report(report: dict[str, Any], ks: list[int]) -> None:
    print(f"dataset {report['dataset']}: {report['questions']} questions, {report['turns']} items")
    print(f"{'category':<28}{'n':>5}" + "".join(f"{'R@' + str(k):>8}" for k in ks))

    def order(kv: tuple[str, Any]) -> tuple[str, bool, int, str]:
        part, _, name = kv[0].rpartition("/")
        return (part, name != "overall", name.count(":"), name)

    for cat, row in sorted(report["recall"].items(), key=order):
        print(f"{cat:<28}{row['n']:>5}" + "".join(f"{row[str(k)]:>8.3f}" for k in ks))
    ms = report["search_ms"]
    print(f"search latency p50 {ms['p50']:.1f} ms, p99 {ms['p99']:.1f} ms")
    print(f"ingest {report['ingest_turns_per_s']:.0f} items/s")


class _PoolEmbedder:
    """Scale fill only: re-uses the real model's vectors of a sentence pool, jittered per item.

    Embedding 100k texts on 2 cores takes minutes and would measure ingest, not search; queries
    still go through the real model, so the search path is exactly production's.
    """

    def __init__(self, real: OnnxEmbedder, pool: dict[str, np.ndarray[Any, Any]], seed: int) -> None:
        self.model_id, self.dim = real.model_id, real.dim
        self._real, self._pool, self._rng = real, pool, np.random.default_rng(seed)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if all(t.split(" #")[0] in self._pool for t in texts):
            base = np.stack([self._pool[t.split(" #")[0]] for t in texts])
            base = base + self._rng.normal(0, 0.03, base.shape)
            return (base / np.linalg.norm(base, axis=1, keepdims=True)).tolist()  # type: ignore[no-any-return]
        return await self._real.embed(texts)

    async def close(self) -> None:
        return None


async def run_scale(
    n_items: int,
    *,
    per_owner: int = 1000,
    queries: int = 300,
    keep: Path | None = None,
    tuning: RetrievalTuning | None = None,
) -> dict[str, Any]:
    """Search latency at `n_items`; with `keep`, the filled store is kept there and re-used when
    a later run asks for the same fill (a 1M fill takes half an hour on 2 cores), so settings
    can be compared on one fill."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            return await _run_scale(Path(tmp), n_items, per_owner=per_owner, queries=queries, tuning=tuning)
    await asyncio.to_thread(keep.mkdir, parents=True, exist_ok=True)
    return await _run_scale(keep, n_items, per_owner=per_owner, queries=queries, tuning=tuning)


async def _run_scale(
    data_dir: Path, n_items: int, *, per_owner: int, queries: int, tuning: RetrievalTuning | None
) -> dict[str, Any]:
    rng = random.Random(n_items)
    data = json.loads((Path(__file__).parent / "data" / "familiar_recall.json").read_text())
    sentences = sorted({t["text"] for c in data["conversations"] for s in c["sessions"] for t in s["turns"]})
    questions = [q["question"] for q in data["questions"]]
    real = OnnxEmbedder()
    await real.start()
    # A long line's sentences are embedded too (memory.longterm.sentences): the pool holds them.
    pieces = sorted({p for t in sentences for p in split_sentences(t)} | set(sentences))
    pool = dict(zip(pieces, np.array(await real.embed(pieces)), strict=True))
    embedder = _PoolEmbedder(real, pool, seed=n_items)
    per_owner = min(per_owner, n_items)
    owners = max(1, n_items // per_owner)
    base = datetime(2023, 1, 1)
    marker = data_dir / "filled.json"
    fill = {"items": n_items, "per_owner": per_owner}
    reused = await asyncio.to_thread(lambda: marker.exists() and json.loads(marker.read_text()) == fill)
    db, index, memory = await _open(data_dir, embedder, tuning)
    try:
        await memory.warmed()  # a restarted bot warms up while it connects, before its first message
        started = time.perf_counter()
        if not reused:
            # Batches hold one owner's items at a time, as a live bot's turns arrive per person, so
            # each vector partition is written in large upserts; timestamps interleave the owners.
            for start in range(0, n_items, 2000):
                batch = [
                    MemoryItem(
                        id=f"i{i}",
                        owner=f"scale:{i // per_owner}",
                        scope=DM_SCOPE if i % 3 else f"room:bench:{i % 7}",
                        text=f"{rng.choice(sentences)} #{i}",
                        created_at=base + timedelta(minutes=(i % per_owner) * owners + i // per_owner),
                        source_ids=(f"e{i}",),
                    )
                    for i in range(start, min(n_items, start + 2000))
                ]
                await memory.add(batch)
            await asyncio.to_thread(marker.write_text, json.dumps(fill))
        fill_s = time.perf_counter() - started
        latencies = []
        now = base + timedelta(minutes=n_items + 60)
        cold = []
        for owner in range(owners):  # first touch of each partition loads its index from disk
            t0 = time.perf_counter()
            await memory.search(
                MemoryQuery(
                    text=rng.choice(questions),
                    visibility=Visibility(owners=frozenset({f"scale:{owner}"}), scope=DM_SCOPE),
                    now=now,
                )
            )
            cold.append((time.perf_counter() - t0) * 1000)
        for qi in range(queries):
            query = MemoryQuery(
                text=rng.choice(questions) + (" last week" if qi % 4 == 0 else ""),
                visibility=Visibility(owners=frozenset({f"scale:{qi % owners}"}), scope=DM_SCOPE),
                now=now,
                k=10,
            )
            t0 = time.perf_counter()
            await memory.search(query)
            latencies.append((time.perf_counter() - t0) * 1000)
    finally:
        await memory.close()
        await index.close()
        await db.close()
    await real.close()
    return {
        "items": n_items,
        "owners": owners,
        "fill_items_per_s": None if reused else n_items / fill_s,
        "search_ms": {"p50": _percentile(latencies, 50), "p99": _percentile(latencies, 99)},
        "first_search_per_owner_ms": {"p50": _percentile(cold, 50), "p99": _percentile(cold, 99)},
    }


def _tuning(overrides: str) -> RetrievalTuning | None:
    """RetrievalTuning with `name=value` overrides (values parsed as the defaults' types)."""
    if not overrides.strip():
        return None
    defaults = RetrievalTuning()
    changes: dict[str, Any] = {}
    for pair in overrides.split(","):
        name, _, value = pair.partition("=")
        current = getattr(defaults, name.strip())
        kind = type(current)
        changes[name.strip()] = value.strip().lower() in {"1", "true", "yes"} if kind is bool else kind(value)
    return dataclasses.replace(defaults, **changes)


def main() -> None:
    parser = argparse.ArgumentParser(description="Evidence recall@k and latency of long-term memory.")
    parser.add_argument("--dataset", type=Path)
    parser.add_argument("--k", default="1,5,10,25")
    parser.add_argument("--json", type=Path, dest="json_out")
    parser.add_argument("--scale", default="", help="comma-separated item counts for the latency run")
    parser.add_argument("--per-owner", type=int, default=1000, help="items per owner in the scale run")
    parser.add_argument("--queries", type=int, default=500, help="timed searches per scale run")
    parser.add_argument("--keep", type=Path, help="keep (and re-use) the scale run's filled store here")
    parser.add_argument("--no-facts", action="store_true", help="ignore the dataset's derived facts")
    parser.add_argument(
        "--aside",
        default="",
        help="conversation ids (before ':') kept aside from tuning: reported apart as aside/...",
    )
    parser.add_argument("--embed-cache", type=Path, help="tuning only: re-use vectors from this file")
    parser.add_argument(
        "--tuning", default="", help="RetrievalTuning overrides to try, e.g. rrf_k=60,recency_weight=0"
    )
    args = parser.parse_args()
    if args.dataset is None and not args.scale:
        parser.error("give --dataset FILE.json and/or --scale N[,N...]")
    ks = sorted({int(k) for k in args.k.split(",") if k.strip()})
    out: dict[str, Any] = {}
    if args.dataset is not None:
        out["retrieval"] = asyncio.run(
            run_dataset(
                args.dataset,
                ks,
                facts=not args.no_facts,
                aside=frozenset(a for a in args.aside.split(",") if a),
                embed_cache=args.embed_cache,
                tuning=_tuning(args.tuning),
            )
        )
        print_report(out["retrieval"], ks)
    if args.scale:
        out["scale"] = []
        for n in (int(x) for x in args.scale.split(",")):
            row = asyncio.run(
                run_scale(
                    n,
                    per_owner=args.per_owner,
                    queries=args.queries,
                    keep=None if args.keep is None else args.keep / f"{n}-{args.per_owner}",
                    tuning=_tuning(args.tuning),
                )
            )
            out["scale"].append(row)
            ms = row["search_ms"]
            print(
                f"scale {row['items']:>8} items / {row['owners']} owners: search p50 {ms['p50']:.1f} ms,"
                f" p99 {ms['p99']:.1f} ms; first search per owner p50"
                f" {row['first_search_per_owner_ms']['p50']:.1f} ms, p99"
                f" {row['first_search_per_owner_ms']['p99']:.1f} ms"
                + (f" (fill {fill:.0f} items/s)" if (fill := row["fill_items_per_s"]) else " (re-used fill)")
            )
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
