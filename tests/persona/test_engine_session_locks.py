"""Two processes sharing Redis never answer the same session at the same time."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from memory.redis.lock import RedisSessionLocks
from persona.providers.base import ChatRequest, ChatResult, TextCallback, Usage
from tests.fakes.engine import message, running_engine
from tests.fakes.sinks import RecordingSink
from tests.fakes.stores import make_stores


class _OverlapProvider:
    """Counts how many generations run at once, across every engine that shares it."""

    name = "overlap"

    def __init__(self) -> None:
        self.running = 0
        self.most = 0

    async def chat(self, request: ChatRequest, on_text: TextCallback | None = None) -> ChatResult:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(0.15)
        finally:
            self.running -= 1
        return ChatResult(text="ok", usage=Usage(), provider=self.name, model=request.model)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def close(self) -> None:
        return None


@pytest.fixture
async def locks(redis_server: str) -> AsyncIterator[RedisSessionLocks]:
    client = Redis.from_url(redis_server)
    await client.flushdb()
    yield RedisSessionLocks(client, prefix="locktest:")
    await client.aclose()


async def _two_processes_answer(locks: RedisSessionLocks, rooms: tuple[str, str]) -> int:
    provider = _OverlapProvider()
    stores_a = dataclasses.replace(make_stores(), locks=locks)
    stores_b = dataclasses.replace(make_stores(), locks=locks)
    async with (
        running_engine(stores=stores_a, provider=provider) as a,  # type: ignore[arg-type]
        running_engine(stores=stores_b, provider=provider) as b,  # type: ignore[arg-type]
    ):
        first = message("hello from a", room=rooms[0], is_dm=False)
        second = message("hello from b", room=rooms[1], is_dm=False)
        await asyncio.gather(a.submit(first, RecordingSink()), b.submit(second, RecordingSink()))
    return provider.most


async def test_the_same_session_is_answered_one_turn_at_a_time(locks: RedisSessionLocks) -> None:
    assert await _two_processes_answer(locks, ("lounge", "lounge")) == 1


async def test_different_sessions_still_run_in_parallel(locks: RedisSessionLocks) -> None:
    assert await _two_processes_answer(locks, ("lounge", "kitchen")) == 2
