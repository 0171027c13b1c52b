"""Commands and media against a real Synapse."""

from __future__ import annotations

import io
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


async def dm_with_bot(alice: TestUser, bot_id: str) -> str:
    room_id = await alice.create_room(invite=[bot_id], is_direct=True)
    await alice.wait_for(room_id, joined(bot_id))
    return room_id


async def test_commands_reach_the_engine_and_admin_ones_are_restricted(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    engine = FakeEngine()
    async with user_client(synapse, tmp_path / "alice") as alice:
        settings = bot_settings(synapse, bot_user, admin_user_ids=[alice.user_id])
        async with (
            running_bot(settings, engine, tmp_path / "data"),
            user_client(synapse, tmp_path / "bob") as bob,
        ):
            room_id = await dm_with_bot(bob, bot_user.user_id)
            searched = await bob.send_text(room_id, "!familiar kb search green tea")
            reply = await bob.wait_for(room_id, replies_to(bot_user.user_id, searched))
            refused = await bob.send_text(room_id, "!familiar config trigger open")
            refusal = await bob.wait_for(room_id, replies_to(bot_user.user_id, refused))
            admin_room = await dm_with_bot(alice, bot_user.user_id)
            configured = await alice.send_text(admin_room, "!familiar config trigger open")
            accepted = await alice.wait_for(admin_room, replies_to(bot_user.user_id, configured))
    assert reply.body == "ran kb_search green tea"
    assert reply.source["content"]["msgtype"] == "m.notice"
    assert "admins" in refusal.body
    assert accepted.body == "ran config trigger open"
    assert [(c.name, c.args, c.is_admin) for c in engine.commands] == [
        ("kb_search", "green tea", False),
        ("config", "trigger open", True),
    ]
    assert engine.submitted == []  # commands are not conversation turns


async def test_export_arrives_as_a_file_in_a_dm(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    engine = FakeEngine()
    async with (
        running_bot(bot_settings(synapse, bot_user), engine, tmp_path / "data"),
        user_client(synapse, tmp_path / "alice") as alice,
    ):
        room_id = await dm_with_bot(alice, bot_user.user_id)
        asked = await alice.send_text(room_id, "!familiar export")

        def is_file(event: Any) -> bool:
            return bool(event.source.get("content", {}).get("msgtype") == "m.file")

        file_event = await alice.wait_for(room_id, is_file)
        downloaded = await alice.client.download(mxc=file_event.source["content"]["url"])
        await alice.wait_for(room_id, replies_to(bot_user.user_id, asked))
    assert file_event.source["content"]["body"] == "memory-export.json"
    assert downloaded.body == b'{"facts": ["likes tea"]}'


async def test_an_image_is_downloaded_and_given_to_the_engine(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    engine = FakeEngine(reply=lambda message: f"I see {len(message.attachments)} image")
    async with (
        running_bot(bot_settings(synapse, bot_user), engine, tmp_path / "data"),
        user_client(synapse, tmp_path / "alice") as alice,
    ):
        room_id = await dm_with_bot(alice, bot_user.user_id)

        def provider(_429: int, _timeouts: int) -> io.BytesIO:
            return io.BytesIO(PNG)

        upload, _ = await alice.client.upload(
            provider, content_type="image/png", filename="dot.png", filesize=len(PNG)
        )
        assert isinstance(upload, UploadResponse)
        content = {
            "msgtype": "m.image",
            "body": "what is this?",
            "filename": "dot.png",
            "url": upload.content_uri,
            "info": {"mimetype": "image/png", "size": len(PNG)},
        }
        asked = await alice.send(room_id, content)
        await alice.wait_answer(room_id, bot_user.user_id, asked, "I see 1 image")
    (message,) = engine.submitted
    (attachment,) = message.attachments
    assert attachment.kind == "image"
    assert attachment.data == PNG
    assert attachment.content_type == "image/png"
    assert message.text == "what is this?"


async def test_a_private_answer_is_not_shown_in_a_group_room(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    engine = FakeEngine()
    async with (
        running_bot(bot_settings(synapse, bot_user), engine, tmp_path / "data"),
        user_client(synapse, tmp_path / "alice") as alice,
        user_client(synapse, tmp_path / "bob") as bob,
    ):
        room_id = await alice.create_room(invite=[bob.user_id, bot_user.user_id])
        await bob.client.join(room_id)
        await alice.wait_for(room_id, joined(bot_user.user_id))
        await alice.wait_for(room_id, joined(bob.user_id))
        asked = await alice.send_text(room_id, "!familiar export")
        reply = await alice.wait_for(room_id, replies_to(bot_user.user_id, asked))
    assert "direct message" in reply.body
    assert not alice.in_room(room_id, lambda e: e.source.get("content", {}).get("msgtype") == "m.file")
