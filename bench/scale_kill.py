"""kill -9 of gateways mid-turn and workers mid-job, many rounds: what a person saw that was lost.

    python -m bench.scale_kill [--rounds 20] [--per-guild 2] [--lines 10]

The harness of tests/bot/test_scale_out_kill.py (three gateway processes, one Discord shard each,
two `familiar worker` processes, one redis-server, one Chroma server, one shared data directory)
with more kill rounds and a longer scripted load. Prints one table row; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

from tests.bot.scale_support import (
    chaos,
    child_env,
    cluster,
    load,
    outcome,
    responder,
    settings_file,
    wait_drained,
)
from tests.support.chroma_server import ChromaServer
from tests.support.discord_fake import FakeDiscord
from tests.support.llm_server import LLMServer
from tests.support.redis_server import RedisServer


async def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-scale-kill-") as tmp:
        root, data_dir = Path(tmp), Path(tmp) / "data"
        fake = FakeDiscord(shard_count=3)
        await fake.start()
        async with LLMServer() as llm, RedisServer() as redis, ChromaServer(root / "chroma") as chroma:
            llm.set_responder(responder())
            config = settings_file(root / "familiar.yaml", llm)
            env = child_env(llm, config, redis.url, f"http://{chroma.host}:{chroma.port}",
                            {"FAMILIAR_DATA_DIR": str(data_dir)})  # fmt: skip
            client = Redis.from_url(redis.url)
            t0 = time.monotonic()
            async with cluster(fake, llm, env=env, cwd=root) as running:
                talking = asyncio.create_task(load(fake, per_guild=args.per_guild, lines=args.lines))
                await chaos(running, rounds=args.rounds, rng=random.Random(args.seed))
                said = await talking
                await wait_drained(client, {"FAMILIAR_DATA_DIR": str(data_dir)}, seconds=300)
                await running.stop_all()
            result = await outcome(fake, client, {"FAMILIAR_DATA_DIR": str(data_dir)}, said)
            await client.aclose()
        await fake.close()
    print("| kills (gateway, worker) | lines said | replies seen | lost from history | lost from memory"
          " | answered twice | journal entries | written twice | wall |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    cells = [f"{running.kills['gateway']}, {running.kills['worker']}", len(said), result.seen,
             len(result.lost_from_history), len(result.lost_from_memory), len(result.answered_twice),
             result.journal_entries, len(result.journal_written_twice),
             f"{time.monotonic() - t0:.0f} s"]  # fmt: skip
    print("| " + " | ".join(str(c) for c in cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-guild", type=int, default=2)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
