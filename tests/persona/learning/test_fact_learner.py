"""Scenario tests: FactLearner + real SQLite fact store, with a scripted provider (no network)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from memory.records import Dossier, Fact
from memory.sqlite.facts import SqliteFactStore
from persona.gather import Gathered
from persona.learning.facts import FactLearner, is_trivial
from persona.learning.settings import LearningSettings
from persona.prompt import build_prompt
from persona.providers.base import ErrorKind, ProviderError
from persona.providers.tokens import estimate_tokens
from tests.fakes.engine import message, persona
from tests.persona.learning.support import (
    DM,
    IN_GROUP,
    T0,
    Clock,
    ScriptedProvider,
    fact,
    facts_reply,
    turn,
)


def prompt_with(facts: list[Fact], dossier: Dossier | None, *, in_dm: bool = True) -> str:
    """The system prompt the persona would get with these facts and this dossier."""
    place = DM if in_dm else IN_GROUP
    gathered = Gathered(visibility=place.visibility, facts=tuple(facts), dossier=dossier)
    asking = message("hello", is_dm=in_dm, room="dm-alice" if in_dm else "lounge")
    built = build_prompt(persona=persona(), messages=[asking], gathered=gathered, count=estimate_tokens)
    return built.request.system


@pytest.fixture
def learner(provider: ScriptedProvider, fact_store: SqliteFactStore, clock: Clock) -> FactLearner:
    return FactLearner(
        provider=provider,
        facts=fact_store,
        model="test-model",
        settings=LearningSettings(dossier_token_budget=30),
        clock=clock,
    )


async def test_key_rotation_keeps_old_key_as_superseded_history(
    learner: FactLearner, provider: ScriptedProvider, fact_store: SqliteFactStore
) -> None:
    provider.queue(
        facts_reply(fact("api_key", "ABC", "identity")),
        facts_reply(fact("api_key", "XYZ", "identity")),
    )
    await learner.after_turn(turn("my API key is ABC", event_id="e1", at=T0))
    await learner.after_turn(turn("my new API key is XYZ", event_id="e2", at=T0 + timedelta(hours=1)))

    current = await fact_store.facts(DM.visibility)
    assert [(f.attribute, f.value) for f in current] == [("api_key", "XYZ")]
    history = await fact_store.facts(DM.visibility, include_superseded=True)
    old = next(f for f in history if f.value == "ABC")
    assert old.superseded_by == current[0].id
    assert old.source_ids == ("e1",)
    assert current[0].source_ids == ("e2",)
    prompt = prompt_with(current, None)
    assert "XYZ" in prompt
    assert "ABC" not in prompt
    # the second call was shown the known attribute, so the model can reuse its name
    assert "api_key = ABC" in provider.requests[1].messages[0].content


async def test_vegetarian_constraint_reaches_the_profile_first(
    learner: FactLearner, provider: ScriptedProvider, fact_store: SqliteFactStore
) -> None:
    provider.queue(
        facts_reply(
            fact("name", "Alice", "identity"),
            fact("diet", "vegetarian", "constraint"),
            fact("favourite_cuisine", "Thai", "preference"),
            dossier="Alice is a vegetarian who loves Thai food.",
        )
    )
    await learner.after_turn(turn("I'm Alice, vegetarian, and I love Thai food", event_id="e1"))

    section = prompt_with(await fact_store.facts(DM.visibility), await fact_store.dossier(DM.visibility))
    assert section.index("diet: vegetarian") < section.index("name: Alice")
    assert section.index("diet: vegetarian") < section.index("favourite cuisine: Thai")
    assert "Alice is a vegetarian who loves Thai food." in section


async def test_facts_stated_out_of_order_later_timestamp_wins(
    learner: FactLearner, provider: ScriptedProvider, fact_store: SqliteFactStore
) -> None:
    provider.queue(
        facts_reply(fact("city", "Lisbon", "identity")),
        facts_reply(fact("city", "Porto", "identity")),
    )
    # The later message (she moved to Lisbon) is processed first, e.g. after a retry.
    await learner.after_turn(turn("I moved to Lisbon", event_id="late", at=T0 + timedelta(days=2)))
    await learner.after_turn(turn("I live in Porto", event_id="early", at=T0))

    current = await fact_store.facts(DM.visibility)
    assert [f.value for f in current] == ["Lisbon"]
    history = await fact_store.facts(DM.visibility, include_superseded=True)
    porto = next(f for f in history if f.value == "Porto")
    assert porto.superseded_by == current[0].id


async def test_deprecated_instruction_is_retracted(
    learner: FactLearner, provider: ScriptedProvider, fact_store: SqliteFactStore
) -> None:
    provider.queue(
        facts_reply(fact("name_to_avoid", "Bob", "constraint")),
        facts_reply(
            fact("name_to_avoid", "Bob", "constraint", retracts=True),
            fact("preferred_name", "Bob", "preference"),
        ),
    )
    await learner.after_turn(turn("never call me Bob", event_id="e1", at=T0))
    before = prompt_with(await fact_store.facts(DM.visibility), None)
    assert "name to avoid: Bob" in before

    await learner.after_turn(
        turn("actually you can call me Bob now", event_id="e2", at=T0 + timedelta(days=1))
    )
    after = prompt_with(await fact_store.facts(DM.visibility), None)
    assert "name to avoid" not in after
    assert "preferred name: Bob" in after
    history = await fact_store.facts(DM.visibility, include_superseded=True)
    old_rule = next(f for f in history if f.attribute == "name_to_avoid" and f.value == "Bob")
    assert not old_rule.current
    assert old_rule.source_ids == ("e1",)


async def test_fact_stated_in_a_dm_never_shown_in_a_group_room(
    learner: FactLearner, provider: ScriptedProvider, fact_store: SqliteFactStore
) -> None:
    provider.queue(
        facts_reply(fact("health", "diabetic", "constraint"), dossier="Alice is diabetic."),
        facts_reply(fact("hobby", "chess", "preference"), dossier="Alice plays chess."),
    )
    await learner.after_turn(turn("between us: I'm diabetic", event_id="e1", place=DM))
    await learner.after_turn(turn("I play chess", event_id="e2", place=IN_GROUP, at=T0 + timedelta(hours=1)))

    group_facts = await fact_store.facts(IN_GROUP.visibility)
    assert [f.value for f in group_facts] == ["chess"]
    group_dossier = await fact_store.dossier(IN_GROUP.visibility)
    assert group_dossier is not None
    assert "diabetic" not in group_dossier.summary
    assert "diabetic" not in prompt_with(group_facts, group_dossier, in_dm=False)
    # the group-room extraction call itself never saw the DM fact
    assert "diabetic" not in provider.requests[1].messages[0].content
    dm_dossier = await fact_store.dossier(DM.visibility)
    assert dm_dossier is not None
    assert dm_dossier.summary == "Alice is diabetic."


async def test_same_turn_twice_files_nothing_twice(
    learner: FactLearner, provider: ScriptedProvider, fact_store: SqliteFactStore
) -> None:
    reply = facts_reply(fact("pet", "a cat named Miso", "relationship"))
    provider.queue(reply, reply)
    same = turn("my cat is called Miso", event_id="e1")
    await learner.after_turn(same)
    await learner.after_turn(same)

    history = await fact_store.facts(DM.visibility, include_superseded=True)
    assert [(f.value, f.source_ids) for f in history] == [("a cat named Miso", ("e1",))]


async def test_trivial_turns_make_no_call(learner: FactLearner, provider: ScriptedProvider) -> None:
    for i, text in enumerate(["ok", "thanks!", "Thank you", "lol 👍", "ok cool"]):
        await learner.after_turn(turn(text, event_id=f"t{i}"))
    assert provider.requests == []
    assert not is_trivial("I'm vegetarian")
    assert not is_trivial("no meat please")


async def test_one_call_per_turn_in_json_mode(
    learner: FactLearner, provider: ScriptedProvider, fact_store: SqliteFactStore
) -> None:
    provider.queue(facts_reply(fact("job", "nurse"), dossier="Alice is a nurse."))
    await learner.after_turn(turn("I work as a nurse", event_id="e1"))
    assert len(provider.requests) == 1
    assert provider.requests[0].json_mode
    assert provider.requests[0].model == "test-model"


async def test_fenced_json_is_accepted_and_garbage_is_skipped(
    learner: FactLearner, provider: ScriptedProvider, fact_store: SqliteFactStore
) -> None:
    provider.queue(
        "Sure! Here you go:\n```json\n" + facts_reply(fact("job", "nurse")) + "\n```",
        "I could not find any facts, sorry.",
        '{"facts": [{"attribute": "x", "kind": "weird", "value": "y"}, 42], "dossier": 7}',
    )
    await learner.after_turn(turn("I work as a nurse", event_id="e1"))
    await learner.after_turn(turn("what's the weather like", event_id="e2"))
    await learner.after_turn(turn("tell me a joke", event_id="e3"))
    assert [f.value for f in await fact_store.facts(DM.visibility)] == ["nurse"]
    assert await fact_store.dossier(DM.visibility) is None


async def test_retryable_errors_raise_and_others_skip(
    learner: FactLearner, provider: ScriptedProvider
) -> None:
    provider.queue(ProviderError(ErrorKind.SERVER, "overloaded", provider="scripted"))
    with pytest.raises(ProviderError):
        await learner.after_turn(turn("I work as a nurse", event_id="e1"))
    provider.queue(ProviderError(ErrorKind.BAD_REQUEST, "refused", provider="scripted"))
    await learner.after_turn(turn("I work as a nurse", event_id="e1"))


async def test_dossier_kept_within_token_budget(
    learner: FactLearner, provider: ScriptedProvider, fact_store: SqliteFactStore
) -> None:
    long_summary = " ".join(f"Alice did thing number {i}." for i in range(40))
    provider.queue(facts_reply(dossier=long_summary))
    await learner.after_turn(turn("let me tell you my whole life story", event_id="e1"))
    dossier = await fact_store.dossier(DM.visibility)
    assert dossier is not None
    assert 0 < len(dossier.summary.split()) <= 30
    assert dossier.summary.startswith("Alice did thing number 0.")
    assert dossier.source_ids == ("e1",)


async def test_forget_by_phrase_removes_fact_and_dossier(
    learner: FactLearner, provider: ScriptedProvider, fact_store: SqliteFactStore
) -> None:
    provider.queue(
        facts_reply(
            fact("employer", "Acme", "identity"),
            fact("diet", "vegetarian", "constraint"),
            dossier="Works at Acme.",
        )
    )
    await learner.after_turn(turn("I work at Acme and I'm vegetarian", event_id="e1"))
    removed = await fact_store.forget(DM.visibility.owners, "acme")
    assert removed == 2  # the fact and the dossier that paraphrased it
    assert [f.value for f in await fact_store.facts(DM.visibility, include_superseded=True)] == ["vegetarian"]
    assert await fact_store.dossier(DM.visibility) is None
