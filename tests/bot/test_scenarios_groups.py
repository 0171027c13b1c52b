"""Group rooms where several people talk to the bot: whose is what was said, and /forget there.

Real stores and the wire server, as in the other scenario modules.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from persona.types import TurnOutcome
from tests.bot.support import (
    Chat,
    Learned,
    Person,
    RecordingSink,
    ScriptedModel,
    dm,
    eventually,
    fact,
    in_room,
    is_reply_request,
    open_app,
    section,
)
from tests.support.llm_server import LLMServer, RecordedRequest, llm_server

__all__ = ["llm_server"]

ALICE = Person(platform="discord", user_id="1001", name="Alice")
BOB = Person(platform="discord", user_id="2002", name="Bob")
CAROL = Person(platform="discord", user_id="4004", name="Carol")
LOUNGE = "lounge"
# No public signal says "this message is queued behind the running turn"; the submits only
# await a SQLite claim before queueing, so this margin is generous.
QUEUE_MARGIN_S = 0.5


def _people_model() -> ScriptedModel:
    return ScriptedModel(
        Learned(trigger="cat is called Miso", facts=(fact("cat_name", "Miso", "relationship"),)),
        Learned(trigger="work as a baker", facts=(fact("job", "baker"),)),
    )


class _HeldReply:
    """Holds the persona's reply to `hold` until released, so others queue behind that turn."""

    def __init__(self, model: ScriptedModel, hold: str) -> None:
        self._model = model
        self._hold = hold
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, request: RecordedRequest) -> str:
        if is_reply_request(request) and request.last_user_text.endswith(self._hold):
            self.entered.set()
            await self.release.wait()
        return self._model(request)


async def test_a_merged_group_turn_learns_each_fact_for_the_person_who_said_it(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    held = _HeldReply(_people_model(), hold="one moment, everyone")
    llm_server.set_responder(held)
    async with open_app(llm_server, tmp_path) as app:
        chat = Chat(app, llm_server)
        engine = chat.engine
        first = asyncio.create_task(
            engine.submit(in_room(CAROL, LOUNGE, "one moment, everyone"), RecordingSink())
        )
        await asyncio.wait_for(held.entered.wait(), 30)
        alice = asyncio.create_task(
            engine.submit(in_room(ALICE, LOUNGE, "my cat is called Miso"), RecordingSink())
        )
        bob = asyncio.create_task(engine.submit(in_room(BOB, LOUNGE, "I work as a baker"), RecordingSink()))
        await asyncio.sleep(QUEUE_MARGIN_S)
        held.release.set()
        outcomes = {await first, await alice, await bob}
        assert outcomes == {TurnOutcome.ANSWERED, TurnOutcome.MERGED}, "the two messages were not merged"
        await chat.settle()

        alice_knows = (await chat.command("memory", dm(ALICE, ""))).text
        bob_knows = (await chat.command("memory", dm(BOB, ""))).text
        assert "cat name: Miso" in alice_knows
        assert "baker" not in alice_knows
        assert "job: baker" in bob_knows
        assert "Miso" not in bob_knows

        def replies(export: dict[str, Any]) -> set[str]:
            return {m["text"] for m in export["memories"] if m["role"] == "assistant"}

        # the one reply answered both, and both remember it among their own memories
        shared = replies(await chat.export(dm(ALICE, ""))) & replies(await chat.export(dm(BOB, "")))
        assert shared, "the merged turn's reply is missing from one of the two people's memories"


async def test_forgetting_a_phrase_also_removes_it_from_a_shared_room_journal(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(_people_model())
    # A gap long enough that both people's turns land in ONE journal entry (about several people);
    # a room that shares its records, so that entry (the room's own) is shown there.
    async with open_app(llm_server, tmp_path, quiet_gap_s=1.5, room_shared=True) as app:
        chat = Chat(app, llm_server)
        await chat.say(
            in_room(ALICE, LOUNGE, "my cat is called Miso"), in_room(BOB, LOUNGE, "I work as a baker")
        )

        async def journaled() -> bool:  # the room's entry is written after the quiet gap
            shown = await chat.command("journal", in_room(BOB, LOUNGE, ""))
            return "Miso" in shown.text

        await eventually(journaled)
        await chat.settle()

        await chat.command("forget", in_room(ALICE, LOUNGE, ""), "Miso")

        request = await chat.ask(in_room(BOB, LOUNGE, "what happened here earlier today?"))
        assert "Miso" not in section(request.system_text, "Your recent journal")
        assert "Miso" not in request.system_text
        assert not await journaled()
