"""kill -9 of gateways mid-turn and of workers mid-job, under a scripted load, in real processes.

Three gateway processes (one Discord shard each, behind the sharded fake) and two learning
workers share one redis-server, one Chroma server and one Postgres (`store_env`). While six
people talk, a gateway and then a worker are killed and restarted, alternately, twenty times in
all; the six keep talking until the last restart is ready, so every kill lands on turns and jobs
in flight. Afterwards: every reply a person saw is in history and long-term memory (0 lost), no
message got two replies, and every journal entry was written once.
Other seeds, rounds and stores: `python -m bench.scale_kill`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.bot.scale_support import (
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
from tests.support.llm_server import LLMServer, llm_server

__all__ = ["llm_server"]

pytestmark = pytest.mark.redis
KILL_ROUNDS = 20  # a gateway, then a worker, alternately


@pytest.fixture
def store_env(tmp_path: Path, postgres_url: str) -> dict[str, str]:
    """Where every process keeps the relational stores: one Postgres database (the data directory
    holds only each process's journal Markdown mirror)."""
    return {"FAMILIAR_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": postgres_url}


@pytest.fixture
async def sharded_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(shard_count=3)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


async def test_killing_gateways_and_workers_loses_no_seen_reply_and_answers_nothing_twice(
    *,
    sharded_discord: FakeDiscord,
    llm_server: LLMServer,
    redis_client: Redis,
    redis_server: str,
    store_env: dict[str, str],
    tmp_path: Path,
) -> None:
    llm_server.set_responder(responder())
    config = await asyncio.to_thread(settings_file, tmp_path / "familiar.yaml", llm_server)
    async with ChromaServer(tmp_path / "chroma") as chroma:
        env = child_env(llm_server, config, redis_server, f"http://{chroma.host}:{chroma.port}", store_env)
        async with cluster(sharded_discord, llm_server, env=env, cwd=tmp_path) as running:
            said = await under_load(running, per_guild=2, lines=5, rounds=KILL_ROUNDS, rng=random.Random(11))
            await wait_drained(redis_client, store_env, seconds=300)
            await running.stop_all()
        result = await outcome(sharded_discord, redis_client, store_env, said)

    print(f"\n{result} kills={dict(running.kills)}")
    assert running.kills == {"gateway": KILL_ROUNDS // 2, "worker": KILL_ROUNDS // 2}
    assert len(said) >= 30  # six people, at least five lines each
    assert result.seen == len(said)  # every line was answered in the end
    assert result.lost_from_history == []
    assert result.lost_from_memory == []
    assert result.answered_twice == []
    assert result.journal_entries > 0
    assert result.journal_written_twice == []
