"""A provider refusing (429) costs a bounded number of calls: a failed turn keeps the person's
message in history but runs no learning, so an outage never multiplies provider calls."""

from __future__ import annotations

from pathlib import Path

from persona.types import TurnOutcome
from tests.bot.support import Chat, Learned, Person, ScriptedModel, dm, extraction_requests, fact, open_app
from tests.support.llm_server import LLMServer, llm_server, rate_limited

__all__ = ["llm_server"]

ALICE = Person(platform="discord", user_id="111", name="Alice")
MESSAGES = 3
CALLS_PER_REPLY = 3  # at most: the first attempt and the chain's two retries (fewer once the circuit opens)


async def test_a_429_phase_costs_bounded_calls_and_no_learning(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(ScriptedModel(Learned(trigger="sister", facts=(fact("sister_name", "Ines"),))))
    llm_server.script(*[rate_limited(0.01)] * (MESSAGES * CALLS_PER_REPLY))
    said = [f"my sister is called Ines ({n})" for n in range(MESSAGES)]
    async with open_app(llm_server, tmp_path) as app:
        chat = Chat(app, llm_server)
        for text in said:
            outcome, sink = await chat.send(dm(ALICE, text))
            assert outcome is TurnOutcome.FAILED
            assert [r.is_error for r in sink.replies] == [True]  # one friendly line each

        assert len(llm_server.chat_requests) <= MESSAGES * CALLS_PER_REPLY
        assert extraction_requests(llm_server) == []
        exported = await chat.export(dm(ALICE, ""))
        assert [t["text"] for t in exported["history"]] == said  # nothing the person sent is lost
        assert exported["facts"] == []

        # The provider is back: the next message is answered and learned from, once.
        llm_server.end_script()
        outcome, _ = await chat.send(dm(ALICE, "my sister is called Ines, by the way"))
        assert outcome is TurnOutcome.ANSWERED
        assert len(extraction_requests(llm_server)) == 1
        assert [f["value"] for f in (await chat.export(dm(ALICE, "")))["facts"]] == ["Ines"]
