"""Restarts, encryption and undecryptable messages against a real Synapse."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from nio import UploadResponse

from tests.adapters.matrix.conftest import (
    PNG,
    TestUser,
    bot_settings,
    joined,
    replies_to,
    running_bot,
    user_client,
)
from tests.adapters.matrix.fake_engine import FakeEngine
from tests.support.synapse import RegisteredUser, SynapseServer

pytestmark = pytest.mark.synapse


async def dm_with_bot(alice: TestUser, bot_id: str, *, encrypted: bool = False) -> str:
    room_id = await alice.create_room(invite=[bot_id], is_direct=True, encrypted=encrypted)
    await alice.wait_for(room_id, joined(bot_id))
    return room_id


async def test_answers_in_an_encrypted_room_and_keeps_its_keys_across_a_restart(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    engine = FakeEngine(reply=lambda m: f"got {m.text!r} with {len(m.attachments)} file(s)")
    data = tmp_path / "data"
    async with user_client(synapse, tmp_path / "alice", encrypted=True) as alice:
        async with running_bot(bot_settings(synapse, bot_user), engine, data) as bot:
            room_id = await dm_with_bot(alice, bot_user.user_id, encrypted=True)
            await alice.sync()  # learn the bot's device keys before encrypting for it
            asked = await alice.send_text(room_id, "a secret question")
            reply = await alice.wait_answer(
                room_id, bot_user.user_id, asked, "got 'a secret question' with 0 file(s)"
            )
            image = await send_encrypted_image(alice, room_id)
            await alice.wait_answer(room_id, bot_user.user_id, image, "got '' with 1 file(s)")
            device = bot.device_id
        async with running_bot(bot_settings(synapse, bot_user), engine, data) as bot:
            again = await alice.send_text(room_id, "still secret?")
            await alice.wait_answer(room_id, bot_user.user_id, again, "got 'still secret?' with 0 file(s)")
            assert bot.device_id == device
    assert reply.decrypted  # alice's client decrypted the bot's answer
    assert engine.submitted[1].attachments[0].data == PNG  # fetched and decrypted by the bot


async def send_encrypted_image(alice: TestUser, room_id: str) -> str:
    def provider(_429: int, _timeouts: int) -> io.BytesIO:
        return io.BytesIO(PNG)

    upload, keys = await alice.client.upload(
        provider, content_type="image/png", filename="dot.png", encrypt=True, filesize=len(PNG)
    )
    assert isinstance(upload, UploadResponse)
    assert keys is not None
    content = {
        "msgtype": "m.image",
        "body": "dot.png",
        "file": {**keys, "url": upload.content_uri},
        "info": {"mimetype": "image/png", "size": len(PNG)},
    }
    return await alice.send(room_id, content)


async def test_an_undecryptable_message_gets_one_notice_and_the_bot_stays(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    engine = FakeEngine()
    async with (
        running_bot(bot_settings(synapse, bot_user), engine, tmp_path / "data"),
        user_client(synapse, tmp_path / "alice") as alice,
    ):
        room_id = await dm_with_bot(alice, bot_user.user_id, encrypted=True)
        garbage: dict[str, Any] = {
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "AwgAEnAcdGhpcyBpcyBub3QgYSByZWFsIG1lc3NhZ2U",
            "sender_key": "kH5xH0lVbZ2rTJDhB7rKbA9bI9zFd2WB0HqXpWzQ5Fk",
            "session_id": "a-session-the-bot-never-received",
            "device_id": "NOPE",
        }
        first = await alice.send(room_id, garbage, kind="m.room.encrypted")
        second = await alice.send(room_id, garbage, kind="m.room.encrypted")
        await alice.wait_for(room_id, replies_to(bot_user.user_id, first))
        plain = await alice.send(
            room_id, garbage | {"session_id": "another-missing-session"}, kind="m.room.encrypted"
        )
        await alice.wait_for(room_id, replies_to(bot_user.user_id, plain))
    assert not alice.in_room(room_id, replies_to(bot_user.user_id, second))  # one notice per session
    notices = [
        e for _, e in alice.events if getattr(e, "sender", None) == bot_user.user_id and hasattr(e, "body")
    ]
    assert all("couldn't decrypt" in notice.body for notice in notices)
    assert engine.submitted == []


async def test_survives_a_homeserver_restart_and_keeps_syncing(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    engine = FakeEngine()
    async with (
        running_bot(bot_settings(synapse, bot_user), engine, tmp_path / "data") as bot,
        user_client(synapse, tmp_path / "alice") as alice,
    ):
        room_id = await dm_with_bot(alice, bot_user.user_id)
        await asyncio.to_thread(synapse.restart)
        syncs_before = bot.sync_count
        asked = await alice.send_text(room_id, "still there?")
        await alice.wait_answer(room_id, bot_user.user_id, asked, "echo: still there?")
    assert bot.sync_count > syncs_before
    assert [message.event_id for message in engine.submitted] == [asked]


async def test_does_not_reanswer_after_its_own_restart(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    """Through the saved sync token: old events are not delivered again; missed ones are answered."""
    engine = FakeEngine()  # no persistent dedup: only the adapter's sync token protects here
    data = tmp_path / "data"
    async with user_client(synapse, tmp_path / "alice") as alice:
        async with running_bot(bot_settings(synapse, bot_user), engine, data) as bot:
            room_id = await dm_with_bot(alice, bot_user.user_id)
            first = await alice.send_text(room_id, "one")
            await alice.wait_answer(room_id, bot_user.user_id, first, "echo: one")
            device = bot.device_id
        while_down = await alice.send_text(room_id, "two, while you were away")
        async with running_bot(bot_settings(synapse, bot_user), engine, data) as bot:
            await alice.wait_answer(room_id, bot_user.user_id, while_down, "echo: two, while you were away")
            assert bot.device_id == device  # the same device: no new login
    assert [message.event_id for message in engine.submitted] == [first, while_down]


async def test_dedup_stops_a_second_answer_when_old_events_come_again(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    """A crash before the sync token was saved replays events: the engine's dedup keeps one answer."""
    data = tmp_path / "data"
    dedup = tmp_path / "dedup.json"
    session = data / "matrix" / "session.json"
    async with user_client(synapse, tmp_path / "alice") as alice:
        async with running_bot(bot_settings(synapse, bot_user), FakeEngine(dedup_path=dedup), data):
            room_id = await dm_with_bot(alice, bot_user.user_id)
            await alice.send_text(room_id, "warm up")
            await alice.wait_for(
                room_id, replies_to(bot_user.user_id, await alice.send_text(room_id, "sync"))
            )
            old_token = json.loads(session.read_text())["next_batch"]
            asked = await alice.send_text(room_id, "answer me once")
            await alice.wait_answer(room_id, bot_user.user_id, asked, "echo: answer me once")
        saved = json.loads(session.read_text())
        session.write_text(json.dumps(saved | {"next_batch": old_token}))  # as if the save was lost
        engine = FakeEngine(dedup_path=dedup)
        async with running_bot(bot_settings(synapse, bot_user), engine, data):
            later = await alice.send_text(room_id, "later")
            await alice.wait_answer(room_id, bot_user.user_id, later, "echo: later")
    assert asked in engine.duplicates
    assert len(alice.in_room(room_id, replies_to(bot_user.user_id, asked))) == 1
