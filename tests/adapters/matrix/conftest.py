"""Fixtures for the Matrix adapter against a real Synapse: users, a running bot, user clients."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from nio import AsyncClient, AsyncClientConfig, RoomCreateResponse, SyncResponse

from adapters.matrix import MatrixAdapter, MatrixSettings
from tests.adapters.matrix.fake_engine import FakeEngine
from tests.support.synapse import RegisteredUser, SynapseServer

_counter = itertools.count()
# A 1×1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

WAIT_S = 20.0


def unique(name: str) -> str:
    return f"{name}{next(_counter)}"


class TestUser:
    """A user's nio client that remembers every timeline event it has synced."""

    __test__ = False

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.events: list[tuple[str, Any]] = []  # (room id, event)

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    async def sync(self) -> None:
        response = await self.client.sync(timeout=300)
        assert isinstance(response, SyncResponse), response
        for room_id, info in response.rooms.join.items():
            self.events.extend((room_id, event) for event in info.timeline.events)
        if self.client.olm is not None:
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
            await self.client.send_to_device_messages()

    async def wait_for(self, room_id: str, match: Callable[[Any], bool], *, within: float = WAIT_S) -> Any:
        async with asyncio.timeout(within):
            while True:
                for seen_room, event in self.events:
                    if seen_room == room_id and match(event):
                        return event
                await self.sync()

    async def wait_answer(self, room_id: str, bot_id: str, asked: str, text: str) -> Any:
        """The bot's reply to `asked` once it shows `text` (directly, or after its m.replace edits)."""
        reply = await self.wait_for(room_id, replies_to(bot_id, asked))

        def shows_text(event: Any) -> bool:
            content = event.source.get("content", {})
            if event.event_id == reply.event_id:
                return bool(content.get("body") == text)
            relates = content.get("m.relates_to", {})
            new_body = content.get("m.new_content", {}).get("body")
            return bool(relates.get("event_id") == reply.event_id and new_body == text)

        await self.wait_for(room_id, shows_text)
        return reply

    def in_room(self, room_id: str, match: Callable[[Any], bool]) -> list[Any]:
        return [event for seen_room, event in self.events if seen_room == room_id and match(event)]

    async def send_text(self, room_id: str, body: str, **extra: Any) -> str:
        content = {"msgtype": "m.text", "body": body, **extra}
        return await self.send(room_id, content)

    async def send(self, room_id: str, content: dict[str, Any], kind: str = "m.room.message") -> str:
        response = await self.client.room_send(room_id, kind, content, ignore_unverified_devices=True)
        return str(response.event_id)

    async def create_room(
        self, *, invite: list[str], is_direct: bool = False, encrypted: bool = False
    ) -> str:
        initial_state = (
            [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}]
            if encrypted
            else []
        )
        response = await self.client.room_create(
            invite=invite, is_direct=is_direct, initial_state=initial_state
        )
        assert isinstance(response, RoomCreateResponse), response
        await self.sync()
        return str(response.room_id)


def replies_to(bot_id: str, event_id: str) -> Callable[[Any], bool]:
    def match(event: Any) -> bool:
        if getattr(event, "sender", None) != bot_id:
            return False
        relates = event.source.get("content", {}).get("m.relates_to", {})
        return bool(relates.get("m.in_reply_to", {}).get("event_id") == event_id)

    return match


def joined(user_id: str) -> Callable[[Any], bool]:
    def match(event: Any) -> bool:
        return getattr(event, "state_key", None) == user_id and getattr(event, "membership", None) == "join"

    return match


@contextlib.asynccontextmanager
async def user_client(
    server: SynapseServer, store: Path, *, encrypted: bool = False
) -> AsyncIterator[TestUser]:
    registered = await asyncio.to_thread(server.register, unique("user"), "pw")
    await asyncio.to_thread(store.mkdir, parents=True, exist_ok=True)
    client = AsyncClient(
        server.url,
        registered.user_id,
        device_id=registered.device_id,
        store_path=str(store),
        config=AsyncClientConfig(encryption_enabled=encrypted, store_sync_tokens=True),
    )
    client.restore_login(registered.user_id, registered.device_id, registered.access_token)
    user = TestUser(client)
    try:
        await user.sync()
        yield user
    finally:
        await client.close()


def bot_settings(server: SynapseServer, bot: RegisteredUser, **overrides: Any) -> MatrixSettings:
    values: dict[str, Any] = {
        "homeserver": server.url,
        "user_id": bot.user_id,
        "password": bot.password,
        "invite_allowlist": ["*:localhost"],
        "sync_timeout_ms": 2000,
        "sync_backoff_initial": 0.2,
        "sync_backoff_max": 1.0,
        "stream_edit_interval": 0.0,
        "typing_refresh": 5.0,
        "admin_user_ids": [],
        **overrides,
    }
    return MatrixSettings.model_validate(values)


@contextlib.asynccontextmanager
async def running_bot(
    settings: MatrixSettings, engine: FakeEngine, data_dir: Path
) -> AsyncIterator[MatrixAdapter]:
    adapter = MatrixAdapter(settings, engine, data_dir)
    task = asyncio.create_task(adapter.run(), name="matrix-adapter-under-test")
    try:
        async with asyncio.timeout(WAIT_S):
            await adapter.ready.wait()
        yield adapter
    finally:
        await adapter.close()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
def bot_user(synapse: SynapseServer) -> RegisteredUser:
    return synapse.register(unique("familiar"), "bot-password")
