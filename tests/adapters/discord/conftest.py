"""Fixtures: the Discord fake on loopback, discord.py pointed at it, and a running adapter."""

from __future__ import annotations

import asyncio
import contextlib
import warnings

# discord.py 2.7 imports the stdlib `audioop` (voice support), deprecated in 3.11. Until pyproject's
# filterwarnings names it, import discord once here with that one warning silenced.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord  # noqa: F401
from collections.abc import AsyncIterator, Callable

import pytest
from pydantic import SecretStr

from adapters.discord.attachments import Transcriber
from adapters.discord.client import DiscordAdapter
from adapters.discord.settings import DiscordSettings
from tests.adapters.discord.fake_engine import FakeEngine
from tests.support.discord_fake import (
    ADMIN_ROLE_ID,
    GUILD_ID,
    OPEN_CHANNEL_ID,
    FakeDiscord,
    patch_discord_py,
)


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    restore = patch_discord_py(fake)
    try:
        yield fake
    finally:
        restore()
        await fake.close()


def e2e_settings(**overrides: object) -> DiscordSettings:
    base: dict[str, object] = {
        "token": SecretStr("fake-token"),
        "stream_edit_interval": 0.0,  # every partial becomes an edit: deterministic to assert on
        "typing_refresh": 3600.0,
        "guild_ready_timeout": 0.05,
        "admin_role_ids": [ADMIN_ROLE_ID],
        "command_guild_ids": [GUILD_ID],
        "channels": {OPEN_CHANNEL_ID: {"trigger": "open"}},
    }
    base.update(overrides)
    return DiscordSettings.model_validate(base)


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def settings() -> DiscordSettings:
    return e2e_settings()


@contextlib.asynccontextmanager
async def run_adapter(
    settings: DiscordSettings, engine: FakeEngine, transcriber: Transcriber | None = None
) -> AsyncIterator[DiscordAdapter]:
    """The adapter running (real `Client.start()`) until the block ends; then closed and awaited."""
    adapter = DiscordAdapter(settings, engine, transcriber=transcriber)
    task = asyncio.create_task(adapter.run(), name="test-discord-adapter")
    try:
        await wait_until(lambda: adapter.client is not None and adapter.client.is_ready())
        yield adapter
    finally:
        await adapter.close()
        await asyncio.wait_for(task, 10)


@pytest.fixture
async def running(
    fake_discord: FakeDiscord, engine: FakeEngine, settings: DiscordSettings
) -> AsyncIterator[DiscordAdapter]:
    del fake_discord  # started (and discord.py pointed at it) before the adapter connects
    async with run_adapter(settings, engine) as adapter:
        yield adapter


async def wait_until(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    # Polling: the state observed (discord.py's readiness, the engine's outcome list) offers no event.
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
