"""Turn pipeline benchmark: local overhead, concurrency, and the thread-pool comparison.

    python -m bench.turns [--memories 100000] [--users 200] [--latency 0.5] [--samples 300]
    python -m bench.turns --stores fake          # in-memory fakes instead of the real stores

(1) Local overhead per turn, p50/p99: gathering (history, long-term memory search, KB, facts,
    journal, links) plus prompt assembly, over the REAL embedded stores (SQLite + Chroma +
    HybridMemory with the local ONNX embedder) holding `--memories` memories; and the whole
    `PersonaEngine.submit` with an instant provider (adds dedup, limits, session slot, delivery).
(2) `--users` concurrent users, one message each, through `PersonaEngine` and the real
    OpenAI provider (AsyncOpenAI) against the local wire-level LLM server with latency L,
    which runs on its own thread and loop, like a remote endpoint. Wall time vs L.
(3) The same load through a thread-pool pipeline of the same stages: each turn runs in
    `run_in_executor` on the default pool, calls the same stores through a sync wrapper and
    the same server with a blocking HTTP client. Ratio of wall times, same run.

Filling 100k memories takes about 25 minutes on 2 cores (per-owner Chroma partitions + FTS);
`--data-dir DIR` keeps the filled store for the next run; item vectors are jittered copies
of a real-model pool, queries always go through the real model. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import SecretStr

from memory.base import Stores
from memory.records import DM_SCOPE, Fact, JournalEntry, KBEntry, MemoryItem, Turn
from persona.engine import PersonaEngine
from persona.gather import GatherRequest, gather_context
from persona.personas import PersonaCatalog, PersonaSpec, load_catalog
from persona.prompt import build_prompt
from persona.providers.base import ChatRequest, LLMProvider
from persona.providers.config import ProviderConfig
from persona.providers.openai_provider import OpenAIProvider
from persona.providers.tokens import TokenCounter, encoding_for_model
from persona.settings import EngineSettings
from persona.types import IncomingMessage
from tests.fakes.provider import ScriptedProvider
from tests.fakes.sinks import RecordingSink
from tests.support.llm_server import LLMServer

NOW = datetime.now(UTC)
TOPICS = [
    "sailing",
    "the lighthouse",
    "my sister",
    "green tea",
    "the harbour",
    "my new job",
    "the garden",
    "a trip to Porto",
    "my cat Miso",
    "the night market",
    "running",
    "a chess club",
    "the bakery",
]
TEMPLATES = [
    "I really enjoyed {t} last weekend.",
    "Can you remind me what I said about {t}?",
    "I'm worried about {t}, honestly.",
    "We should plan something around {t}.",
    "My friend told me a funny story about {t}.",
    "I keep thinking about {t} lately.",
]
SENTENCES = [tpl.format(t=t) for tpl in TEMPLATES for t in TOPICS]


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class _JitterEmbedder:
    """Fill only: a jittered copy of the real vector of a pooled sentence; anything else is real."""

    def __init__(self, real: Any, pool: dict[str, Any]) -> None:
        self.model_id, self.dim = real.model_id, real.dim
        self._real, self._pool, self._rng = real, pool, np.random.default_rng(7)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        keys = [t.split(" (#")[0] for t in texts]
        if not all(k in self._pool for k in keys):
            return list(await self._real.embed(texts))
        base = np.stack([self._pool[k] for k in keys]) + self._rng.normal(0, 0.03, (len(keys), self.dim))
        return (base / np.linalg.norm(base, axis=1, keepdims=True)).tolist()  # type: ignore[no-any-return]

    async def close(self) -> None:
        return None


@asynccontextmanager
async def real_stores(data_dir: Path, memories: int, users: int) -> AsyncIterator[Stores]:
    from memory.chroma import ChromaIndex
    from memory.embeddings.onnx import OnnxEmbedder
    from memory.kb.store import SqliteKnowledgeBase
    from memory.longterm import HybridMemory
    from memory.sqlite.db import Database
    from memory.sqlite.dedup import SqliteEventDedup
    from memory.sqlite.facts import SqliteFactStore
    from memory.sqlite.history import SqliteHistoryStore
    from memory.sqlite.journal import SqliteJournalStore
    from memory.sqlite.limits import SqliteRateLimiter
    from memory.sqlite.links import SqliteIdentityLinks
    from memory.sqlite.outbox import SqliteOutbox

    async with AsyncExitStack() as stack:
        real = OnnxEmbedder()
        await real.start()
        stack.push_async_callback(real.close)
        pool = dict(zip(SENTENCES, np.array(await real.embed(SENTENCES)), strict=True))
        db = Database(data_dir / "familiar.sqlite3")
        await db.open()
        stack.push_async_callback(db.close)
        index = ChromaIndex(model_id=real.model_id, dim=real.dim, path=data_dir / "chroma")
        await index.start()
        stack.push_async_callback(index.close)
        filler = HybridMemory(db=db, vectors=index, embedder=_JitterEmbedder(real, pool))
        await filler.start()
        await fill_memories(filler, memories, users)
        memory = HybridMemory(db=db, vectors=index, embedder=real)  # searches use the real model
        parts: list[Any] = [
            SqliteHistoryStore(db),
            SqliteEventDedup(db),
            SqliteRateLimiter(db),
            memory,
            SqliteFactStore(db),
            SqliteJournalStore(db),
            SqliteKnowledgeBase(db),
            SqliteIdentityLinks(db),
        ]
        for part in parts:
            await part.start()
            stack.push_async_callback(part.close)
        history, dedup, limits, _, facts, journal, kb, links = parts
        outbox = SqliteOutbox(db, history=history)
        await outbox.start()
        yield Stores(
            history=history,
            dedup=dedup,
            limits=limits,
            memory=memory,
            facts=facts,
            journal=journal,
            kb=kb,
            links=links,
            outbox=outbox,
        )


@asynccontextmanager
async def fake_stores(memories: int, users: int) -> AsyncIterator[Stores]:
    from tests.fakes.stores import InMemoryMemory, make_stores

    memory = InMemoryMemory()
    await fill_memories(memory, memories, users)
    yield make_stores(memory=memory)


async def fill_memories(memory: Any, count: int, users: int) -> None:
    rng = random.Random(count)
    started = time.perf_counter()
    for start in range(0, count, 2000):
        await memory.add(
            [
                MemoryItem(
                    id=f"m{i}",
                    owner=f"bench:u{i % users}",
                    scope=DM_SCOPE if i % 3 else f"room:bench:r{i % 7}",
                    text=f"{rng.choice(SENTENCES)} (#{i})",
                    created_at=NOW - timedelta(minutes=count - i),
                    source_ids=(f"src{i}",),
                )
                for i in range(start, min(count, start + 2000))
            ]
        )
    print(f"filled {count} memories in {time.perf_counter() - started:.0f} s")


async def seed_user_context(stores: Stores, users: int) -> None:
    """Every user gets history, facts (one constraint), a journal entry; the KB a few entries."""
    await stores.kb.add(
        [
            KBEntry(
                id=f"kb{i}", title=t, text=f"Notes on {t}: opening hours, people, history.", kind="retrieved"
            )
            for i, t in enumerate(TOPICS)
        ]
    )
    for u in range(users):
        owner, session = f"bench:u{u}", f"bench:dm-u{u}:-:*"
        await stores.history.append(
            [
                Turn(
                    event_id=f"h{u}-{k}",
                    session=session,
                    role="user" if k % 2 == 0 else "assistant",
                    owner=owner,
                    author_name=f"User {u}",
                    text=SENTENCES[(u + k) % len(SENTENCES)],
                    created_at=NOW - timedelta(minutes=60 - k),
                    scope=DM_SCOPE,
                    platform="bench",
                    room_id=f"dm-u{u}",
                )
                for k in range(20)
            ]
        )
        await stores.facts.upsert(
            [
                Fact(
                    id=f"f{u}-{a}",
                    owner=owner,
                    scope=DM_SCOPE,
                    subject="user",
                    attribute=a,
                    value=v,
                    kind=kind,  # type: ignore[arg-type]
                    confidence=0.9,
                    source_ids=(f"h{u}-0",),
                    valid_from=NOW,
                    recorded_at=NOW,
                )
                for a, v, kind in (("diet", "vegetarian", "constraint"), ("hometown", "Porto", "identity"))
            ]
        )
        await stores.journal.add(
            JournalEntry(
                id=f"j{u}",
                persona="default",
                day=NOW.date().isoformat(),
                kind="entry",
                text=f"Talked with User {u} about the harbour.",
                scope=DM_SCOPE,
                created_at=NOW,
                owner=owner,
            )
        )


def user_message(u: int, n: int) -> IncomingMessage:
    return IncomingMessage(
        platform="bench",
        room_id=f"dm-u{u}",
        author_id=f"u{u}",
        author_name=f"User {u}",
        text=f"What did I tell you about {TOPICS[(u + n) % len(TOPICS)]}?",
        event_id=f"b{u}-{n}-{time.time_ns()}",
        is_dm=True,
    )


def gather_request(message: IncomingMessage, persona: PersonaSpec) -> GatherRequest:
    return GatherRequest(
        identity=message.identity,
        scope=message.scope,
        room_scope=f"room:bench:{message.room_id}",
        session=str(message.session),
        query=message.text,
        persona=persona,
        now=datetime.now(UTC),
        is_dm=True,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    stores: Stores
    persona: PersonaSpec
    settings: EngineSettings
    counter: TokenCounter
    users: int

    async def stages(self, message: IncomingMessage) -> ChatRequest:
        """What the engine does between `typing()` and the LLM call: gather, then assemble."""
        request = gather_request(message, self.persona)
        gathered = await gather_context(self.stores, request, self.settings.deadlines, Counter())
        built = build_prompt(
            persona=self.persona, messages=[message], gathered=gathered, count=self.counter.count
        )
        return built.request


async def bench_overhead(ctx: _Context, samples: int) -> dict[str, float]:
    for u in range(5):  # warm caches, the tokenizer table, the model
        await ctx.stages(user_message(u, 0))
    stage_ms = []
    for i in range(samples):
        t0 = time.perf_counter()
        await ctx.stages(user_message(i % ctx.users, i))
        stage_ms.append((time.perf_counter() - t0) * 1000)
    instant = ScriptedProvider(latency_s=0.0)
    instant.count_tokens = ctx.counter.count  # type: ignore[method-assign]
    engine = PersonaEngine(
        stores=ctx.stores,
        catalog=PersonaCatalog([ctx.persona]),
        provider_for=lambda p: instant,
        settings=ctx.settings,
    )
    await engine.start()
    engine_ms = []
    for i in range(samples + 5):
        t0 = time.perf_counter()
        await engine.submit(user_message(i % ctx.users, 10_000 + i), RecordingSink())
        if i >= 5:
            engine_ms.append((time.perf_counter() - t0) * 1000)
    await engine.close()
    return {
        "stages_p50": pct(stage_ms, 50),
        "stages_p99": pct(stage_ms, 99),
        "submit_p50": pct(engine_ms, 50),
        "submit_p99": pct(engine_ms, 99),
        "degraded": float(sum(v for k, v in engine.stats.items() if k.endswith((".timeout", ".error")))),
    }


class ServerProcess:
    """The wire-level LLM server in its own process, like a remote endpoint: its CPU and GIL are
    not ours (in-process, its 200 responses would be billed to the pipeline under test)."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.base_url = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServerProcess:
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        command = [sys.executable, "-m", "bench.turns", "--serve", str(self.latency_s)]
        self._proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        assert self._proc.stdout is not None
        self.base_url = self._proc.stdout.readline().strip()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)


async def serve(latency_s: float) -> None:
    async with LLMServer(latency_s=latency_s) as server:
        print(server.openai_base_url, flush=True)
        await asyncio.Event().wait()


async def bench_async(
    stores: Stores, persona: PersonaSpec, settings: EngineSettings, provider: LLMProvider, users: int
) -> tuple[float, Counter[str]]:
    engine = PersonaEngine(
        stores=stores, catalog=PersonaCatalog([persona]), provider_for=lambda p: provider, settings=settings
    )
    await engine.start()
    sinks = [RecordingSink() for _ in range(users)]
    round_id = time.time_ns()
    t0 = time.perf_counter()
    await asyncio.gather(*(engine.submit(user_message(u, round_id), sinks[u]) for u in range(users)))
    wall = time.perf_counter() - t0
    await engine.close()
    failed = sum(1 for s in sinks if not s.sent or s.sent[0].is_error)
    if failed:
        print(f"  warning: {failed} of {users} async turns did not get a model reply")
    return wall, engine.stats


async def sdk_floor(base_url: str, users: int) -> float:
    """The OpenAI SDK alone: `users` concurrent streamed calls, no engine (the provider's floor)."""
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="k", max_retries=0)

    async def one() -> None:
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        async for _ in stream:
            pass

    await one()  # warm the connection pool and the SDK's lazy imports
    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(users)))
    wall = time.perf_counter() - t0
    await client.close()
    return wall


def _blocking_llm(request: ChatRequest, base_url: str | None, latency_s: float) -> None:
    if base_url is None:  # the fake provider's fixed latency, as a sync client would spend it
        time.sleep(latency_s)
        return
    body = json.dumps(
        {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [
                {"role": "system", "content": request.system},
                *({"role": m.role, "content": m.content} for m in request.messages),
            ],
        }
    )
    http = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=body.encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer k"},
    )
    with urllib.request.urlopen(http, timeout=600) as response:
        response.read()


async def bench_threads(
    ctx: _Context, base_url: str | None, latency_s: float, users: int
) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    workers = min(32, (os.cpu_count() or 1) + 4)  # the default executor's size
    round_id = time.time_ns()

    def turn(u: int) -> None:
        message = user_message(u, round_id)
        # the same stages, called the way a sync, thread-per-turn bot calls its stores
        request = asyncio.run_coroutine_threadsafe(ctx.stages(message), loop).result()
        _blocking_llm(request, base_url, latency_s)

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        t0 = time.perf_counter()
        await asyncio.gather(*(loop.run_in_executor(pool, turn, u) for u in range(users)))
        return time.perf_counter() - t0, workers


async def main_async(args: argparse.Namespace) -> None:
    catalog = await load_catalog()
    persona = catalog.get(None).model_copy(update={"model": "gpt-4o-mini"})
    settings = EngineSettings(rate_limit_per_minute=0, daily_token_quota=0)
    encoding, exact = encoding_for_model(persona.model)
    counter = TokenCounter(encoding=encoding, exact=exact)
    await counter.load()
    L, users = args.latency, args.users
    with tempfile.TemporaryDirectory(prefix="bench-turns-") as tmp:
        # --data-dir keeps a filled store between runs (filling 100k takes minutes; known ids are skipped)
        data_dir = Path(args.data_dir) if args.data_dir else Path(tmp)
        opened = (
            real_stores(data_dir, args.memories, users)
            if args.stores == "real"
            else fake_stores(args.memories, users)
        )
        async with opened as stores:
            await seed_user_context(stores, users)
            # Everything loaded so far (SDKs, Chroma, the model) is permanent: keep it out of the
            # cyclic GC, whose full passes over it otherwise pause the loop for ~100 ms.
            gc.collect()
            gc.freeze()
            ctx = _Context(stores=stores, persona=persona, settings=settings, counter=counter, users=users)
            print(
                f"stores: {args.stores}; {args.memories} memories over {users} users; L = {L * 1000:.0f} ms"
            )
            over = await bench_overhead(ctx, args.samples)
            print(
                f"(1) local overhead, {args.samples} turns: gather+assembly p50 {over['stages_p50']:.1f} ms, "
                f"p99 {over['stages_p99']:.1f} ms | whole submit() with an instant provider "
                f"p50 {over['submit_p50']:.1f} ms, p99 {over['submit_p99']:.1f} ms | "
                f"degraded sources {over['degraded']:.0f}"
            )
            fake = ScriptedProvider(latency_s=L)
            fake.count_tokens = counter.count  # type: ignore[method-assign]
            wall, stats = await bench_async(stores, persona, settings, fake, users)
            print(
                f"(2) {users} concurrent users, fake provider of fixed latency L: wall {wall * 1000:.0f} ms "
                f"= {wall / L:.2f} x L; degraded {_degraded(stats)}"
            )
            threads, workers = await bench_threads(ctx, None, L, users)
            print(
                f"(3) same load, run_in_executor pipeline ({workers} threads): wall {threads * 1000:.0f} ms "
                f"= {threads / L:.2f} x L -> async is {threads / wall:.1f}x faster"
            )
            with ServerProcess(L) as server:
                floor = await sdk_floor(server.base_url, users)
                config = ProviderConfig(
                    name="openai",
                    kind="openai",
                    base_url=server.base_url,
                    api_key=SecretStr("k"),
                    max_retries=0,
                )
                provider = OpenAIProvider(config)
                try:
                    wire, stats = await bench_async(stores, persona, settings, provider, users)
                finally:
                    await provider.close()
                wire_threads, _ = await bench_threads(ctx, server.base_url, L, users)
            print(
                f"(2w) the same through AsyncOpenAI + the wire-level server (own process): "
                f"wall {wire * 1000:.0f} ms = {wire / L:.2f} x L "
                f"(the SDK alone, no engine: {floor / L:.2f} x L); "
                f"degraded {_degraded(stats)}"
            )
            print(
                f"(3w) run_in_executor + blocking HTTP to the same server: {wire_threads / L:.2f} x L "
                f"-> async is {wire_threads / wire:.1f}x faster"
            )


def _degraded(stats: Counter[str]) -> str:
    found = {k: v for k, v in stats.items() if k.endswith((".timeout", ".error"))}
    return str(found) if found else "none"


def main() -> None:
    parser = argparse.ArgumentParser(description="Turn pipeline overhead and concurrency.")
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.5, help="LLM latency L in seconds")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--stores", choices=["real", "fake"], default="real")
    parser.add_argument("--data-dir", default="", help="reuse (and keep) this store directory")
    parser.add_argument("--serve", type=float, default=None, help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve(args.serve))
        return
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
