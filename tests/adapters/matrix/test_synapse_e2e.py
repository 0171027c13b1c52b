"""The Matrix adapter against a real Synapse: what a user in a room or a DM would see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nio import RoomMemberEvent

from tests.adapters.matrix.conftest import (
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


def pill(user_id: str, name: str) -> dict[str, Any]:
    return {
        "format": "org.matrix.custom.html",
        "formatted_body": f'<a href="https://matrix.to/#/{user_id}">{name}</a>: hello',
    }


async def group_room(alice: TestUser, bob: TestUser, bot_id: str) -> str:
    room_id = await alice.create_room(invite=[bob.user_id, bot_id])
    await bob.client.join(room_id)
    await alice.wait_for(room_id, joined(bot_id))
    await alice.wait_for(room_id, joined(bob.user_id))
    return room_id


async def test_joins_on_invite_and_answers_a_mention_in_a_group_room(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    engine = FakeEngine()
    settings = bot_settings(synapse, bot_user)
    async with (
        running_bot(settings, engine, tmp_path / "data"),
        user_client(synapse, tmp_path / "alice") as alice,
        user_client(synapse, tmp_path / "bob") as bob,
    ):
        room_id = await group_room(alice, bob, bot_user.user_id)
        chatter = await alice.send_text(room_id, "just chatting with bob")
        asked = await alice.send_text(
            room_id, f"{bot_user.user_id}: hello", **pill(bot_user.user_id, "familiar")
        )
        await alice.wait_answer(room_id, bot_user.user_id, asked, f"echo: {bot_user.user_id}: hello")
    assert [message.event_id for message in engine.submitted] == [asked]
    assert chatter not in {message.event_id for message in engine.submitted}
    message = engine.submitted[0]
    assert message.mentions_bot
    assert not message.is_dm
    assert message.author_id == alice.user_id


async def test_declines_an_invite_from_outside_the_allowlist(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    engine = FakeEngine()
    async with user_client(synapse, tmp_path / "mallory") as mallory:
        settings = bot_settings(synapse, bot_user, invite_allowlist=["@nobody:localhost"])
        async with running_bot(settings, engine, tmp_path / "data"):
            room_id = await mallory.create_room(invite=[bot_user.user_id])

            def declined(event: Any) -> bool:
                return (
                    isinstance(event, RoomMemberEvent)
                    and event.state_key == bot_user.user_id
                    and event.membership == "leave"
                )

            await mallory.wait_for(room_id, declined)
        assert not mallory.in_room(room_id, joined(bot_user.user_id))


async def test_answers_everything_in_a_dm_with_streamed_edits(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    engine = FakeEngine(reply=lambda message: "Here is a **longer** answer, streamed in parts.")
    async with (
        running_bot(bot_settings(synapse, bot_user), engine, tmp_path / "data"),
        user_client(synapse, tmp_path / "alice") as alice,
    ):
        room_id = await alice.create_room(invite=[bot_user.user_id], is_direct=True)
        await alice.wait_for(room_id, joined(bot_user.user_id))
        asked = await alice.send_text(room_id, "what's the plan?")
        first = await alice.wait_for(room_id, replies_to(bot_user.user_id, asked))

        def final_edit(event: Any) -> bool:
            content = event.source.get("content", {})
            new = content.get("m.new_content", {})
            return bool(
                content.get("m.relates_to", {}).get("event_id") == first.event_id
                and new.get("body") == "Here is a **longer** answer, streamed in parts."
            )

        edit = await alice.wait_for(room_id, final_edit)
    assert engine.submitted[0].is_dm
    assert not engine.submitted[0].mentions_bot
    assert "<strong>longer</strong>" in edit.source["content"]["m.new_content"]["formatted_body"]
    assert first.body != edit.source["content"]["m.new_content"]["body"]  # the first view was partial


async def test_a_thread_is_its_own_conversation(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    engine = FakeEngine()
    async with (
        running_bot(bot_settings(synapse, bot_user), engine, tmp_path / "data"),
        user_client(synapse, tmp_path / "alice") as alice,
        user_client(synapse, tmp_path / "bob") as bob,
    ):
        room_id = await group_room(alice, bob, bot_user.user_id)
        root = await alice.send_text(room_id, "a topic")
        in_thread = {"rel_type": "m.thread", "event_id": root, "is_falling_back": True}
        asked = await alice.send_text(
            room_id,
            f"{bot_user.user_id} what about it?",
            **{"m.relates_to": {**in_thread, "m.in_reply_to": {"event_id": root}}},
            **{"m.mentions": {"user_ids": [bot_user.user_id]}},
        )
        reply = await alice.wait_for(room_id, replies_to(bot_user.user_id, asked))
        follow_up = await alice.send_text(
            room_id,
            "and then?",
            **{"m.relates_to": {**in_thread, "m.in_reply_to": {"event_id": reply.event_id}}},
        )
        second = await alice.wait_for(room_id, replies_to(bot_user.user_id, follow_up))
    relation = reply.source["content"]["m.relates_to"]
    assert relation["rel_type"] == "m.thread"
    assert relation["event_id"] == root
    assert relation["is_falling_back"] is True
    assert second.source["content"]["m.relates_to"]["event_id"] == root
    assert [message.thread_id for message in engine.submitted] == [root, root]
    assert engine.submitted[0].session == engine.submitted[1].session


async def test_ignores_a_notice_from_another_bot(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    engine = FakeEngine()
    async with (
        running_bot(bot_settings(synapse, bot_user), engine, tmp_path / "data"),
        user_client(synapse, tmp_path / "alice") as alice,
        user_client(synapse, tmp_path / "otherbot") as other_bot,
    ):
        room_id = await group_room(alice, other_bot, bot_user.user_id)
        notice = await other_bot.send(
            room_id,
            {
                "msgtype": "m.notice",
                "body": f"{bot_user.user_id}: ping",
                "m.mentions": {"user_ids": [bot_user.user_id]},
            },
        )
        asked = await alice.send_text(
            room_id, f"{bot_user.user_id}: hi", **pill(bot_user.user_id, "familiar")
        )
        await alice.wait_for(room_id, replies_to(bot_user.user_id, asked))
    assert [message.event_id for message in engine.submitted] == [asked]
    assert not alice.in_room(room_id, replies_to(bot_user.user_id, notice))


async def test_formatted_body_is_sanitised(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    markdown = "**bold** <script>alert(1)</script> [x](javascript:alert(2))"
    engine = FakeEngine(reply=lambda message: markdown)
    async with (
        running_bot(bot_settings(synapse, bot_user, stream_mode="off"), engine, tmp_path / "data"),
        user_client(synapse, tmp_path / "alice") as alice,
    ):
        room_id = await alice.create_room(invite=[bot_user.user_id], is_direct=True)
        await alice.wait_for(room_id, joined(bot_user.user_id))
        asked = await alice.send_text(room_id, "say something risky")
        reply = await alice.wait_for(room_id, replies_to(bot_user.user_id, asked))
    html = reply.source["content"]["formatted_body"]
    assert "<strong>bold</strong>" in html
    assert "<script" not in html
    assert 'href="javascript' not in html
    assert reply.body == markdown


async def test_a_placeholder_is_edited_into_the_answer(
    synapse: SynapseServer, bot_user: RegisteredUser, tmp_path: Path
) -> None:
    engine = FakeEngine()
    settings = bot_settings(synapse, bot_user, stream_mode="placeholder", msgtype="m.notice")
    async with (
        running_bot(settings, engine, tmp_path / "data"),
        user_client(synapse, tmp_path / "alice") as alice,
    ):
        room_id = await alice.create_room(invite=[bot_user.user_id], is_direct=True)
        await alice.wait_for(room_id, joined(bot_user.user_id))
        asked = await alice.send_text(room_id, "think hard")
        reply = await alice.wait_answer(room_id, bot_user.user_id, asked, "echo: think hard")
    assert reply.body == "thinking…"
    assert reply.source["content"]["msgtype"] == "m.notice"
