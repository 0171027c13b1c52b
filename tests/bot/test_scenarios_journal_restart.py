"""A conversation still waiting out its quiet gap when the bot stops is journaled after it starts.

The real App twice on one data directory (a deploy or a crash-and-restart), with the wire
server as the model. The second run uses a short gap: the first conversation's gap "passed
while the bot was down", so its entry is written as soon as the scheduler starts.
"""

from __future__ import annotations

from pathlib import Path

from tests.bot.support import Chat, Person, ScriptedModel, dm, eventually, open_app
from tests.support.llm_server import LLMServer, llm_server

__all__ = ["llm_server"]

ALICE = Person(platform="discord", user_id="1001", name="Alice")
BOB = Person(platform="discord", user_id="2002", name="Bob")
LONG_GAP_S = 3600.0  # the first run stops long before this
SHORT_GAP_S = 0.2


def journal_requests(server: LLMServer) -> list[str]:
    """The conversations sent to the model to be journaled."""
    return [r.last_user_text for r in server.chat_requests if "writing your private journal" in r.system_text]


async def test_conversation_open_at_shutdown_is_journaled_after_the_restart(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(ScriptedModel())
    async with open_app(llm_server, tmp_path, quiet_gap_s=LONG_GAP_S) as app:
        chat = Chat(app, llm_server)
        await chat.say(dm(ALICE, "I planted forty tulips in the garden today"))
        before = await chat.command("journal", dm(ALICE, ""))
        assert "tulips" not in before.text  # still waiting out its gap when the bot stops
    assert journal_requests(llm_server) == []

    async with open_app(llm_server, tmp_path, quiet_gap_s=SHORT_GAP_S) as app:
        chat = Chat(app, llm_server)

        async def journaled() -> bool:
            return "tulips" in (await chat.command("journal", dm(ALICE, ""))).text

        await eventually(journaled)
        shown = (await chat.command("journal", dm(ALICE, ""))).text
        assert "Reply to: I planted forty tulips" in shown  # the persona's own line, from before the stop
        assert len([line for line in shown.splitlines() if line.startswith("- ")]) == 1
        # Bob never sees Alice's private conversation.
        assert "tulips" not in (await chat.command("journal", dm(BOB, ""))).text
    assert len(journal_requests(llm_server)) == 1


async def test_forgotten_conversation_is_not_journaled_after_the_restart(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(ScriptedModel())
    async with open_app(llm_server, tmp_path, quiet_gap_s=LONG_GAP_S) as app:
        chat = Chat(app, llm_server)
        await chat.say(dm(ALICE, "my tulips are a surprise for my sister"))
        await chat.say(dm(BOB, "I repaired my bicycle"))
        await chat.command("forget", dm(ALICE, ""), "tulips")

    async with open_app(llm_server, tmp_path, quiet_gap_s=SHORT_GAP_S) as app:
        chat = Chat(app, llm_server)

        async def bob_journaled() -> bool:
            return "bicycle" in (await chat.command("journal", dm(BOB, ""))).text

        # Both conversations are due in the same round, Alice's (the older) first: once Bob's
        # entry is there, Alice's would be too had the /forget not dropped it.
        await eventually(bob_journaled)
        shown = (await chat.command("journal", dm(ALICE, ""))).text
        assert "Nothing in my journal today" in shown
    assert not any("tulips" in said for said in journal_requests(llm_server))
