"""Facts and dossiers through the real App: what a user notices in later prompts and commands.

Real SQLite, embedded Chroma and the ONNX embedder in a temporary data directory; the provider
is the local wire server with a scripted model that "extracts" facts per message.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from persona.types import TurnOutcome
from tests.bot.support import (
    Chat,
    Learned,
    Person,
    ScriptedModel,
    dm,
    extraction_requests,
    fact,
    is_reply_request,
    open_app,
    section,
    values,
)
from tests.support.llm_server import LLMServer, llm_server

__all__ = ["llm_server"]

ALICE = Person(platform="discord", user_id="1001", name="Alice")
KNOWN = "What you know about"


async def test_a_rotated_api_key_is_the_only_current_one(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(
        ScriptedModel(
            Learned(trigger="ABC123", facts=(fact("api_key", "ABC123"),)),
            Learned(trigger="XYZ789", facts=(fact("api_key", "XYZ789"),)),
        )
    )
    async with open_app(llm_server, tmp_path) as app:
        chat = Chat(app, llm_server)
        old, new = dm(ALICE, "my API key is ABC123"), dm(ALICE, "my new API key is XYZ789")
        await chat.say(old, new)

        request = await chat.ask(dm(ALICE, "which key should the deploy script use?"))
        known = section(request.system_text, KNOWN)
        assert "api key: XYZ789" in known
        assert "ABC123" not in known

        shown = await chat.command("memory", dm(ALICE, ""))
        assert "api key: XYZ789" in shown.text
        assert "ABC123" not in shown.text

        facts = (await chat.export(dm(ALICE, "")))["facts"]
        assert values(facts, current=True) == ["XYZ789"]
        (retired,) = [f for f in facts if f["value"] == "ABC123"]
        (current,) = [f for f in facts if f["value"] == "XYZ789"]
        assert retired["superseded_by"] == current["id"]
        assert retired["source_ids"] == [old.event_id]
        assert current["source_ids"] == [new.event_id]


async def test_a_dietary_constraint_shapes_a_later_unrelated_request(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(
        ScriptedModel(Learned(trigger="vegetarian", facts=(fact("diet", "vegetarian", "constraint"),)))
    )
    async with open_app(llm_server, tmp_path) as app:
        chat = Chat(app, llm_server)
        await chat.say(dm(ALICE, "I'm vegetarian, by the way."), dm(ALICE, "The weather is lovely today."))

        request = await chat.ask(dm(ALICE, "recommend me a dinner for tonight"))
        constraints = section(request.system_text, KNOWN).split("Known facts:", 1)[0]
        assert "Constraints (always respect these):" in constraints
        assert "- diet: vegetarian" in constraints
        # Learning costs at most one call per turn, and none for a mere acknowledgement.
        assert len(extraction_requests(llm_server)) == 3
        await chat.say(dm(ALICE, "thanks!"))
        assert len(extraction_requests(llm_server)) == 3


async def test_of_two_facts_stated_out_of_order_the_later_timestamp_wins(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(
        ScriptedModel(
            Learned(trigger="Lisbon", facts=(fact("home_city", "Lisbon"),)),
            Learned(trigger="Porto", facts=(fact("home_city", "Porto"),)),
        )
    )
    morning = datetime.now(UTC) - timedelta(hours=3)
    async with open_app(llm_server, tmp_path) as app:
        chat = Chat(app, llm_server)
        # The later statement arrives first (e.g. a bridge delivered a backlog out of order).
        await chat.say(
            dm(ALICE, "I have just moved to Lisbon.", at=morning + timedelta(hours=1)),
            dm(ALICE, "I live in Porto.", at=morning),
        )

        request = await chat.ask(dm(ALICE, "where should I go for a walk?"))
        known = section(request.system_text, KNOWN)
        assert "home city: Lisbon" in known
        assert "Porto" not in known
        facts = (await chat.export(dm(ALICE, "")))["facts"]
        assert values(facts, current=True) == ["Lisbon"]
        assert values(facts, current=False) == ["Porto"]


async def test_a_withdrawn_instruction_is_no_longer_presented(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(
        ScriptedModel(
            Learned(trigger="never call me", facts=(fact("name_to_avoid", "Bob", "constraint"),)),
            Learned(
                trigger="you can call me Bob",
                facts=(fact("name_to_avoid", "Bob", "constraint", retracts=True),),
            ),
        )
    )
    async with open_app(llm_server, tmp_path) as app:
        chat = Chat(app, llm_server)
        await chat.say(dm(ALICE, "Please never call me Bob."))
        before = await chat.ask(dm(ALICE, "how should you address me?"))
        assert "- name to avoid: Bob" in section(before.system_text, KNOWN)

        await chat.say(dm(ALICE, "actually you can call me Bob now"))
        after = await chat.ask(dm(ALICE, "so how will you address me from now on?"))
        assert "name to avoid" not in after.system_text
        shown = await chat.command("memory", dm(ALICE, ""))
        assert "name to avoid" not in shown.text
        facts = (await chat.export(dm(ALICE, "")))["facts"]
        assert "Bob" not in values(facts, current=True)
        assert values(facts, current=False) == ["Bob"]  # kept as history, not current


async def test_facts_persist_across_a_restart(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(
        ScriptedModel(
            Learned(
                trigger="Wilhelmina",
                facts=(fact("sister_name", "Wilhelmina", "relationship"),),
                dossier="Has a sister called Wilhelmina.",
            )
        )
    )
    async with open_app(llm_server, tmp_path) as app:
        await Chat(app, llm_server).say(dm(ALICE, "My sister is called Wilhelmina."))

    async with open_app(llm_server, tmp_path) as app:
        chat = Chat(app, llm_server)
        request = await chat.ask(dm(ALICE, "what was my sister's name again?"))
        assert "sister name: Wilhelmina" in section(request.system_text, KNOWN)
        assert "Has a sister called Wilhelmina." in section(request.system_text, "Summary of")
        shown = await chat.command("memory", dm(ALICE, ""))
        assert "sister name: Wilhelmina" in shown.text


async def test_a_message_delivered_again_after_a_restart_is_not_answered_twice(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(ScriptedModel())
    message = dm(ALICE, "Good evening, how was your day?")
    async with open_app(llm_server, tmp_path) as app:
        await Chat(app, llm_server).say(message)
    answered = [r for r in llm_server.chat_requests if is_reply_request(r)]
    assert len(answered) == 1

    async with open_app(llm_server, tmp_path) as app:
        outcome, sink = await Chat(app, llm_server).send(message)
    assert outcome is TurnOutcome.DUPLICATE
    assert sink.replies == []
    assert [r for r in llm_server.chat_requests if is_reply_request(r)] == answered


async def test_the_learning_model_setting_sends_learning_calls_to_that_model(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(ScriptedModel(Learned(trigger="ABC123", facts=(fact("api_key", "ABC123"),))))
    async with open_app(llm_server, tmp_path, learning_model="learner-mini") as app:
        chat = Chat(app, llm_server)
        reply = await chat.ask(dm(ALICE, "my API key is ABC123"))

        assert reply.model == "gpt-4o-mini"  # the persona's own model answers the person
        assert [r.model for r in extraction_requests(llm_server)] == ["learner-mini"]
        assert "api key: ABC123" in (await chat.command("memory", dm(ALICE, ""))).text
