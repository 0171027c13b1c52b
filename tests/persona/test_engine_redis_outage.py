"""Redis stopped and restarted mid-conversation (dedup, history, limits and locks on Redis).

Every message gets its own answer, from what is reachable, while Redis is away; the outage is
logged and counted once per store, not once per message; nothing raises out of `submit`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import pytest

from bot.stores import redis_client
from memory.redis.dedup import RedisEventDedup
from memory.redis.history import RedisHistoryStore
from memory.redis.limits import RedisRateLimiter
from memory.redis.lock import RedisSessionLocks
from persona.engine import PersonaEngine
from persona.types import TurnOutcome
from tests.fakes.engine import fast_settings, message, running_engine
from tests.fakes.provider import ScriptedProvider
from tests.fakes.sinks import RecordingSink
from tests.fakes.stores import make_stores
from tests.support import missing_component
from tests.support.redis_server import RedisServer, redis_binary

pytestmark = pytest.mark.redis

GUARD_S = 20.0
REDIS_STORES = ("dedup", "limits", "locks", "gather.history")


async def _conversation(engine: PersonaEngine, texts: list[str], spacing_s: float) -> list[RecordingSink]:
    """One person writing in one DM, a message every `spacing_s`, as fast as people type."""
    sinks = [RecordingSink() for _ in texts]
    turns = []
    for text, sink in zip(texts, sinks, strict=True):
        turns.append(asyncio.create_task(engine.submit(message(text), sink)))
        await asyncio.sleep(spacing_s)
    async with asyncio.timeout(GUARD_S):
        assert set(await asyncio.gather(*turns)) == {TurnOutcome.ANSWERED}
    return sinks


async def test_every_message_is_answered_through_a_redis_outage(caplog: pytest.LogCaptureFixture) -> None:
    if redis_binary() is None:
        missing_component("redis-server binary not found on PATH (apt-get install redis-server)")
    provider = ScriptedProvider(latency_s=0.05, responder=lambda r: f"answer to {r.messages[-1].content}")
    async with RedisServer() as server:
        client = redis_client(server.url)  # configured as `familiar run` builds it
        stores = dataclasses.replace(
            make_stores(),
            dedup=RedisEventDedup(client),
            history=RedisHistoryStore(client),
            limits=RedisRateLimiter(client),
            locks=RedisSessionLocks(client),
        )
        try:
            async with running_engine(
                stores=stores, provider=provider, settings=fast_settings(outage_probe_s=0.3)
            ) as engine:
                texts = [f"before {i}" for i in range(2)] + [f"during {i}" for i in range(8)]
                sinks = await _conversation(engine, texts[:2], 0.5)
                await server.close()  # Redis stops
                with caplog.at_level(logging.WARNING):
                    sinks += await _conversation(engine, texts[2:], 0.5)
                    await server.start(port=server.port)  # and comes back
                    texts += [f"after {i}" for i in range(3)]
                    await asyncio.sleep(0.4)  # one probe interval
                    sinks += await _conversation(engine, texts[10:], 0.5)
                stats = engine.stats
        finally:
            await client.aclose()

    # Each message its own answer: none silenced, none fused into another's turn.
    assert [sink.texts for sink in sinks] == [[f"answer to {text}"] for text in texts]
    assert all(stats[f"outage.{store}"] == 1 for store in REDIS_STORES), stats
    unavailable = [r for r in caplog.records if "store unavailable" in r.getMessage()]
    assert sorted(r.getMessage().split()[0] for r in unavailable) == sorted(REDIS_STORES)
