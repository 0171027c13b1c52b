"""One turn's relational store work on SQLite vs Postgres, p50/p99, measured in one run.

    python -m bench.stores [--people 300] [--turns 40] [--samples 400] [--concurrency 1,8]

For each backend the same data is written (`--people` people, each with `--turns` history
turns in a DM and a shared room, a dozen facts, a dossier and journal entries), then:
- gather: what `persona.gather` asks the relational stores for one turn: the person's linked
  identities, then concurrently the session's recent history (20 turns), facts, dossier and the
  journal's recent entries (long-term memory and the knowledgebase are left out: they stay on
  SQLite FTS5 + Chroma with either backend);
- turn writes: the event's claim (dedup), the rate-limit hit, the commit of the turn's two
  history rows with its three outbox jobs, the claim answered, then the three jobs done.
With `--concurrency` C, C turns (of distinct random people) run at once, as in a busy process;
each sample is one turn's latency. Postgres is a local server started here
(tests/support/postgres_server.py, fsync off like the test server: commit cost is the protocol and
the planner, not the disk), SQLite is WAL with synchronous=NORMAL, both on this machine.
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from memory.base import OutboxJob
from memory.records import Dossier, Fact, JournalEntry, Turn
from memory.visibility import Visibility
from tests.support.postgres_server import PostgresServer
from tests.support.relational import (
    DedupBackend,
    FactBackend,
    HistoryBackend,
    JournalBackend,
    LimitsBackend,
    LinksBackend,
    OutboxBackend,
    Relational,
)

NOW = datetime.now(UTC)
PERSONA = "familiar"
ROOM = "room:discord:lounge"


@dataclass(frozen=True, slots=True, kw_only=True)
class Stores:
    history: HistoryBackend
    facts: FactBackend
    journal: JournalBackend
    links: LinksBackend
    outbox: OutboxBackend
    dedup: DedupBackend
    limits: LimitsBackend


def person(i: int) -> str:
    return f"discord:{1000 + i}"


def session(owner: str) -> str:
    return f"discord:dm-{owner}:-:{owner}"


def turns_of(owner: str, count: int, *, tag: str = "h") -> list[Turn]:
    return [
        Turn(
            event_id=f"{owner}-{tag}{n}",
            session=session(owner) if n % 2 else "discord:lounge:-:*",
            role="user" if n % 3 else "assistant",
            owner=owner,
            author_name="Someone",
            text=f"line {n} about the harbour and the night market",
            created_at=NOW - timedelta(minutes=count - n),
            scope="dm" if n % 2 else ROOM,
            platform="discord",
            room_id=f"dm-{owner}" if n % 2 else "lounge",
        )
        for n in range(count)
    ]


def facts_of(owner: str) -> list[Fact]:
    return [
        Fact(
            id=f"{owner}-f{n}",
            owner=owner,
            scope="dm" if n % 2 else ROOM,
            subject="user",
            attribute=f"attribute_{n % 8}",
            value=f"value {n}",
            kind="preference",
            confidence=0.9,
            source_ids=(f"{owner}-h{n}",),
            valid_from=NOW - timedelta(days=12 - n),
            recorded_at=NOW,
        )
        for n in range(12)
    ]


def journal_of(owner: str) -> list[JournalEntry]:
    return [
        JournalEntry(
            id=f"{owner}-j{n}",
            persona=PERSONA,
            day=(NOW - timedelta(days=n)).date().isoformat(),
            kind="entry",
            text=f"Talked with {owner} about the lighthouse ({n}).",
            scope="dm",
            created_at=NOW - timedelta(days=n),
            owner=owner,
            source_ids=(f"{owner}-h{n}",),
        )
        for n in range(4)
    ]


async def open_stores(relational: Relational) -> Stores:
    history = await relational.history()
    return Stores(
        history=history,
        facts=await relational.facts(),
        journal=await relational.journal(),
        links=await relational.links(time.time),
        outbox=await relational.outbox(history),
        dedup=await relational.dedup(time.time),
        limits=await relational.limits(time.time),
    )


async def fill(stores: Stores, people: int, turns: int) -> None:
    for i in range(people):
        owner = person(i)
        await stores.history.append(turns_of(owner, turns))
        await stores.facts.upsert(facts_of(owner))
        dossier = Dossier(
            owner=owner, scope="dm", summary="Likes the harbour.", updated_at=NOW, source_ids=()
        )
        await stores.facts.save_dossier(dossier)
        for entry in journal_of(owner):
            await stores.journal.add(entry)


async def gather_once(stores: Stores, owner: str, _: int) -> None:
    owners = await stores.links.identities(owner)
    seen = Visibility(owners=owners, scope="dm")
    await asyncio.gather(
        stores.history.recent(session(owner), 20, visibility=seen),
        stores.facts.facts(seen),
        stores.facts.dossier(seen),
        stores.journal.recent(PERSONA, seen, 5),
    )


async def write_once(stores: Stores, owner: str, n: int) -> None:
    key = f"event:discord:{owner}-new{n}"
    await stores.dedup.claim(key, 10.0)
    await stores.limits.hit(f"rate:{owner}", 100_000, 60.0)
    [said] = turns_of(owner, 1, tag=f"new{n}-")
    pair = [said, replace(said, event_id=f"{said.event_id}:reply", role="assistant")]
    jobs = [
        OutboxJob(
            key=f"{kind}:{said.event_id}", kind=kind, payload="{}", owners=frozenset({owner}), origin_ts=0.0
        )
        for kind in ("memory", "hook:facts", "hook:journal")
    ]
    await stores.outbox.commit(pair, jobs)
    await stores.dedup.complete(key, 3600.0)
    for job in jobs:
        await stores.outbox.done(job.key)


Step = Callable[[Stores, str, int], Awaitable[None]]


async def measure(stores: Stores, step: Step, *, samples: int, concurrency: int, people: int) -> list[float]:
    latencies: list[float] = []
    chosen = [person(random.randrange(people)) for _ in range(samples)]

    async def one(index: int) -> None:
        started = time.perf_counter()
        await step(stores, chosen[index], index)
        latencies.append(time.perf_counter() - started)

    for start in range(0, samples, concurrency):
        await asyncio.gather(*(one(i) for i in range(start, min(start + concurrency, samples))))
    return latencies


def percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


async def bench_backend(relational: Relational, args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    await relational.open()
    try:
        stores = await open_stores(relational)
        await fill(stores, args.people, args.turns)
        results: dict[str, tuple[float, float]] = {}
        for concurrency in args.concurrency:
            for name, step in (("gather", gather_once), ("turn writes", write_once)):
                await measure(
                    stores, step, samples=20, concurrency=concurrency, people=args.people
                )  # warm-up
                found = await measure(
                    stores, step, samples=args.samples, concurrency=concurrency, people=args.people
                )
                results[f"{name} (x{concurrency})"] = percentiles(found)
        return results
    finally:
        await relational.close()


async def main(args: argparse.Namespace) -> None:
    random.seed(7)
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = await bench_backend(Relational("sqlite", sqlite_path=Path(tmp) / "familiar.db"), args)
    async with PostgresServer() as server:
        url = await server.create_database("bench")
        postgres = await bench_backend(Relational("postgres", postgres_url=url), args)
    print(f"{args.people} people x {args.turns} history turns, {args.samples} samples per row (ms)")
    print(f"{'':22} {'SQLite p50':>11} {'p99':>8} {'Postgres p50':>13} {'p99':>8}")
    for name, (s50, s99) in sqlite.items():
        p50, p99 = postgres[name]
        print(f"{name:22} {s50:11.2f} {s99:8.2f} {p50:13.2f} {p99:8.2f}")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--concurrency", type=lambda text: [int(x) for x in text.split(",")], default=[1, 8])
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
