"""kill -9 of gateways mid-turn and workers mid-job, many rounds: what a person saw that was lost.

    python -m bench.scale_kill [--rounds 40] [--per-guild 2] [--lines 10] [--seed 11] [--sqlite]

The harness of tests/bot/test_scale_out_kill.py (three gateway processes, one Discord shard each,
two `familiar worker` processes, one redis-server, one Chroma server and one Postgres, or with
--sqlite one shared data directory) with other rounds, seeds and load. Prints one table row;
asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from redis.asyncio import Redis

from tests.bot.scale_support import (
    Outcome,
    Said,
    child_env,
    cluster,
    outcome,
    responder,
    settings_file,
    under_load,
    wait_drained,
)
from tests.support.chroma_server import ChromaServer
from tests.support.discord_fake import FakeDiscord
from tests.support.llm_server import LLMServer
from tests.support.postgres_server import PostgresServer
from tests.support.redis_server import RedisServer


@contextlib.asynccontextmanager
async def relational(data_dir: Path, sqlite: bool) -> AsyncIterator[dict[str, str]]:
    """Where every process keeps the relational stores: one Postgres database, or SQLite in the
    shared data directory."""
    if sqlite:
        yield {"FAMILIAR_DATA_DIR": str(data_dir)}
        return
    async with PostgresServer() as server:
        url = await server.create_database("bench")
        yield {"FAMILIAR_DATA_DIR": str(data_dir), "DATABASE_URL": url}


async def run_cluster(
    args: argparse.Namespace, root: Path, store_env: dict[str, str], fake: FakeDiscord
) -> tuple[list[Said], Outcome, dict[str, int]]:
    async with LLMServer() as llm, RedisServer() as redis, ChromaServer(root / "chroma") as chroma:
        llm.set_responder(responder())
        config = settings_file(root / "familiar.yaml", llm)
        env = child_env(llm, config, redis.url, f"http://{chroma.host}:{chroma.port}", store_env)
        client = Redis.from_url(redis.url)
        try:
            async with cluster(fake, llm, env=env, cwd=root) as running:
                said = await under_load(running, per_guild=args.per_guild, lines=args.lines,
                                        rounds=args.rounds, rng=random.Random(args.seed))  # fmt: skip
                await wait_drained(client, store_env, seconds=300)
                await running.stop_all()
            return said, await outcome(fake, client, store_env, said), dict(running.kills)
        finally:
            await client.aclose()


async def measure(args: argparse.Namespace) -> None:
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-scale-kill-") as tmp:
        root = Path(tmp)
        fake = FakeDiscord(shard_count=3)
        await fake.start()
        try:
            async with relational(root / "data", args.sqlite) as store_env:
                said, result, kills = await run_cluster(args, root, store_env, fake)
        finally:
            await fake.close()
    print("| stores | kills (gateway, worker) | lines said | replies seen | lost from history"
          " | lost from memory | answered twice | journal entries | written twice | wall |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    cells = ["SQLite" if args.sqlite else "Postgres", f"{kills.get('gateway', 0)}, {kills.get('worker', 0)}",
             len(said), result.seen, len(result.lost_from_history), len(result.lost_from_memory),
             len(result.answered_twice), result.journal_entries, len(result.journal_written_twice),
             f"{time.monotonic() - t0:.0f} s"]  # fmt: skip
    print("| " + " | ".join(str(c) for c in cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--per-guild", type=int, default=2)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--sqlite", action="store_true", help="one shared SQLite data directory, no Postgres")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
