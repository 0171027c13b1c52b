"""kill -9 of `familiar run` mid-reply, then a restart on the same data and Redis.

A real child process talks to Discord's fake and to the loopback LLM server; the test kills it
while the reply is being generated (the LLM hangs), starts another on the same data directory
(and Redis), and Discord delivers the message again, as a replay after a reconnect does. The
interrupted message must be answered exactly once, an answered one never again, and the same
person's next message must not wait for the dead process's session lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from memory.redis.lock import DEFAULT_LEASE_S
from persona.settings import EngineSettings
from tests.bot.platform_support import FamiliarResponder
from tests.support.discord_fake import BOT_USER, CHANNEL_ID, FakeDiscord
from tests.support.llm_server import LLMServer, hang, llm_server

__all__ = ["llm_server"]

ROOT = Path(__file__).resolve().parents[2]
START_S = 60.0  # a cold start loads the embedding model: generous on a shared 2-core machine
WAIT_S = 30.0
READY_LINE = "discord connected as"


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


class Familiar:
    """One `familiar run` child; `ready` is set once discord.py says it is connected."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.ready = asyncio.Event()
        self.log: list[str] = []
        self._reader = asyncio.create_task(self._read(), name="familiar-child-log")

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            line = raw.decode(errors="replace")
            self.log.append(line)
            if READY_LINE in line:
                self.ready.set()

    async def wait_ready(self) -> None:
        started = time.monotonic()
        async with asyncio.timeout(START_S):
            await self.ready.wait()
        print(f"\nready after {time.monotonic() - started:.1f} s")

    async def stop(self, sig: int) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        async with asyncio.timeout(WAIT_S):
            code = await self.process.wait()
            await self._reader
        return code


@contextlib.asynccontextmanager
async def familiar(
    tmp_path: Path, fake: FakeDiscord, llm: LLMServer, redis_url: str | None
) -> AsyncIterator[Familiar]:
    config = tmp_path / "familiar.yaml"
    discord_section = {"token": "fake-token", "stream_edit_interval": 0.0, "typing_refresh": 3600.0,
                       "guild_ready_timeout": 0.05, "close_drain_timeout": 1.0}  # fmt: skip
    # A stop gives running turns this long before it interrupts them (the hung reply, here).
    engine = {"jobs": {"drain_timeout_s": 2.0}}
    # Embeddings from the loopback server: a start without loading the local model is quicker.
    embedding = {"backend": "openai", "base_url": llm.openai_base_url, "api_key": "test-key"}
    sections = {"discord": discord_section, "engine": engine, "embedding": embedding}
    await asyncio.to_thread(config.write_text, json.dumps(sections))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_", "REDIS_"))}
    env = {**base, "PYTHONPATH": str(ROOT), "FAMILIAR_CONFIG": str(config),
           "FAMILIAR_DATA_DIR": str(tmp_path / "data"), "FAMILIAR_ENV_FILE": "/dev/null",
           "OPENAI_BASE_URL": llm.openai_base_url, "OPENAI_API_KEY": "test-key",
           **({"REDIS_URL": redis_url} if redis_url else {})}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.familiar_child", fake.api_base, fake.gateway_url,
        cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    child = Familiar(process)
    try:
        yield child
    finally:
        await child.stop(signal.SIGKILL)


def mention(fake: FakeDiscord, text: str) -> dict[str, Any]:
    return fake.message(content=f"<@{BOT_USER['id']}> {text}", mentions=(BOT_USER,))


def replies_to(fake: FakeDiscord, message: dict[str, Any]) -> list[str]:
    path = f"/api/v10/channels/{CHANNEL_ID}/messages"
    return [
        str((r.json or {}).get("content", ""))
        for r in fake.requests
        if r.method == "POST"
        and r.path == path
        and str(((r.json or {}).get("message_reference") or {}).get("message_id")) == message["id"]
    ]


def shown(fake: FakeDiscord) -> list[str]:
    """Every text the bot posted or edited into the channel."""
    return [
        str((r.json or {}).get("content", ""))
        for r in fake.requests
        if r.method in {"POST", "PATCH"} and f"/channels/{CHANNEL_ID}/messages" in r.path
    ]


def asked(llm: LLMServer, text: str) -> int:
    return sum(text in r.last_user_text for r in llm.chat_requests if r.stream)


async def wait_until(fake: FakeDiscord, predicate: Any, seconds: float = WAIT_S) -> None:
    # Requests land in the fake's record; it wakes waiters on every request it serves.
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


@pytest.mark.redis
async def test_a_reply_killed_mid_generation_is_answered_once_after_the_restart(
    fake_discord: FakeDiscord, llm_server: LLMServer, redis_client: Redis, redis_server: str, tmp_path: Path
) -> None:
    # History, dedup, limits and session locks on a real redis-server (flushed by `redis_client`).
    redis_url, stop = redis_server, signal.SIGKILL
    llm_server.set_responder(FamiliarResponder({}))
    llm_server.script(hang())  # the first reply call never finishes: the bot is stopped meanwhile
    question = mention(fake_discord, "what did the dentist say?")

    async with familiar(tmp_path, fake_discord, llm_server, redis_url) as first:
        await first.wait_ready()
        await fake_discord.dispatch("MESSAGE_CREATE", question)
        await wait_until(fake_discord, lambda: asked(llm_server, "dentist") == 1)
        await first.stop(stop)
    assert replies_to(fake_discord, question) == []  # interrupted: nothing was said

    async with familiar(tmp_path, fake_discord, llm_server, redis_url) as second:
        await second.wait_ready()
        ready_at = time.monotonic()
        follow_up = mention(fake_discord, "and when is my next appointment?")
        await fake_discord.dispatch("MESSAGE_CREATE", follow_up)
        await wait_until(fake_discord, lambda: len(replies_to(fake_discord, follow_up)) == 1)
        follow_up_s = time.monotonic() - ready_at
        await fake_discord.dispatch("MESSAGE_CREATE", question)  # delivered again after the restart
        await wait_until(fake_discord, lambda: len(replies_to(fake_discord, question)) == 1)
        await fake_discord.dispatch("MESSAGE_CREATE", question)  # and again, once answered
        last = mention(fake_discord, "thanks!")
        await fake_discord.dispatch("MESSAGE_CREATE", last)
        await wait_until(fake_discord, lambda: len(replies_to(fake_discord, last)) == 1)

    assert len(replies_to(fake_discord, question)) == 1
    assert any("what did the dentist say?" in text for text in shown(fake_discord))
    assert asked(llm_server, "dentist") == 2  # the interrupted call, then exactly one answer
    # The dead process's session lock (Redis) did not hold the person up for long: well within
    # a lease plus the time one reply takes here, never the length of a turn.
    print(f"\nnext message answered {follow_up_s:.2f} s after the restart was ready")
    assert follow_up_s < DEFAULT_LEASE_S + EngineSettings().claim_lease_s + 10.0
