"""Recall by whose words a question is about, and learned facts as memories (real model, SQLite, Chroma).

"What did I say my sister's name was?" must come back with the person's own line even when the
persona talked about a sister too; "what was that recipe you gave me in May?" with the persona's.
A fact the person corrected must never be recalled above its correction.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memory.chroma import ChromaIndex
from memory.derived import derived_item
from memory.embeddings.onnx import OnnxEmbedder
from memory.longterm import HybridMemory
from memory.records import DM_SCOPE, MemoryItem, MemoryQuery, Role, Visibility
from memory.sqlite.db import Database
from memory.sqlite.facts import SqliteFactStore
from persona.learning.facts import FactLearner
from persona.learning.settings import LearningSettings
from persona.storing import memory_items
from tests.persona.learning.support import ALICE, Clock, ScriptedProvider, fact, turn

NOW = datetime(2023, 9, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
async def memory(db: Database, tmp_path: Path, embedder: OnnxEmbedder) -> AsyncIterator[HybridMemory]:
    index = ChromaIndex(model_id=embedder.model_id, dim=embedder.dim, path=tmp_path / "chroma")
    hybrid = HybridMemory(db=db, vectors=index, embedder=embedder)
    await hybrid.start()
    yield hybrid
    await hybrid.close()
    await index.close()


# One conversation between Alice and the persona, Juniper: both sides talk about sisters and food.
LINES: list[tuple[str, Role, str, int]] = [
    ("a1", "user", "My sister's name is Ana, she's a nurse in Porto.", 120),
    ("p1", "assistant", "I have a sister too! Her name is Lucia and she paints murals.", 120),
    ("a2", "user", "I cooked a big pot of lentil soup yesterday.", 100),
    (
        "p2",
        "assistant",
        "Here's my shakshuka recipe: simmer tomatoes with cumin and paprika, then poach eggs in it.",
        95,
    ),
    ("a3", "user", "I've been trying to eat more vegetables lately.", 90),
    ("p3", "assistant", "My favourite vegetable has always been roasted cauliflower.", 60),
    ("a4", "user", "Work has been busy, lots of meetings this week.", 30),
    ("p4", "assistant", "Busy weeks are hard. Make sure you take breaks.", 30),
]


def said(item_id: str, role: Role, text: str, days_ago: int) -> MemoryItem:
    return MemoryItem(
        id=item_id,
        owner=ALICE,
        scope=DM_SCOPE,
        text=text,
        created_at=NOW - timedelta(days=days_ago),
        source_ids=(f"ev-{item_id}",),
        role=role,
    )


def ask(text: str, k: int = 3) -> MemoryQuery:
    return MemoryQuery(
        text=text,
        visibility=Visibility(owners=frozenset({ALICE}), scope=DM_SCOPE),
        now=NOW,
        k=k,
        asker_name="Alice",
        persona_name="Juniper",
    )


async def top(memory: HybridMemory, question: str) -> str:
    hits = await memory.search(ask(question))
    return hits[0].item.id


async def test_a_first_person_question_finds_the_persons_own_statement(memory: HybridMemory) -> None:
    await memory.add([said(*line) for line in LINES])
    assert await top(memory, "What did I say my sister's name was?") == "a1"
    assert await top(memory, "What does my sister do for a living?") == "a1"


async def test_a_second_person_question_finds_what_the_persona_said(memory: HybridMemory) -> None:
    await memory.add([said(*line) for line in LINES])
    assert await top(memory, "What was that recipe you gave me in June?") == "p2"
    assert await top(memory, "What's your sister called?") == "p1"
    assert await top(memory, "What is Juniper's favourite vegetable?") == "p3"


async def test_a_question_naming_neither_side_finds_both(memory: HybridMemory) -> None:
    await memory.add([said(*line) for line in LINES])
    hits = await memory.search(ask("sisters", k=2))
    assert {h.item.id for h in hits} == {"a1", "p1"}


def learned(*facts: dict[str, object], told: tuple[str, ...] = ()) -> str:
    return json.dumps({"facts": list(facts), "told": list(told), "dossier": None})


async def test_a_superseded_fact_never_outranks_its_correction(db: Database, memory: HybridMemory) -> None:
    provider = ScriptedProvider()
    clock = Clock(NOW)
    facts = SqliteFactStore(db)
    await facts.start()
    learner = FactLearner(
        provider=provider,
        facts=facts,
        model="test-model",
        settings=LearningSettings(),
        clock=clock,
        memory=memory,
    )
    january = turn(
        "Settled in at last: my flat is in Berlin, by the Spree.",
        event_id="jan",
        at=NOW - timedelta(days=200),
    )
    may = turn(
        "Big news, the move is done. Munich is home now!", event_id="may", at=NOW - timedelta(days=100)
    )
    provider.queue(learned(fact("home_city", "Berlin", statement="I live in Berlin.")))
    provider.queue(
        learned(
            fact("home_city", "Munich", statement="I moved to Munich and live there now."),
            told=("I recommended the beer garden at Chinesischer Turm to you.",),
        )
    )
    for completed in (january, may):
        await memory.add(memory_items(completed))
        await learner.after_turn(completed)

    hits = await memory.search(ask("Which city do I live in?", k=5))
    derived = [h.item for h in hits if h.item.kind == "derived"]
    assert derived
    assert derived[0].text == "I moved to Munich and live there now."
    assert derived[0].source_ids == ("may",)
    remembered = [i.text for i in await memory.export(frozenset({ALICE}))]
    assert "I live in Berlin." not in remembered  # the corrected fact is no longer a memory

    tip = await memory.search(ask("Which beer garden did you recommend?", k=1))
    assert tip[0].item.role == "assistant"
    assert "Chinesischer Turm" in tip[0].item.text
    assert set(tip[0].item.source_ids) == {"may:reply", "may"}


async def test_forgetting_a_turn_forgets_what_was_learned_from_it(memory: HybridMemory) -> None:
    await memory.add([said("a9", "user", "My alarm code is 1531x84, don't tell anyone.", 5)])
    await memory.add(
        [
            derived_item(
                key="fact:alarm",
                owner=ALICE,
                scope=DM_SCOPE,
                text="I keep a secret code for my home security system.",
                said_by_persona=False,
                created_at=NOW - timedelta(days=5),
                source_ids=("ev-a9",),
            )
        ]
    )
    assert await memory.forget(frozenset({ALICE}), "1531x84") == 2
    assert await memory.export(frozenset({ALICE})) == []


async def test_a_forgotten_phrase_leaves_the_context_of_the_lines_that_answered_it(
    memory: HybridMemory,
) -> None:
    await memory.add(
        [
            said("p8", "assistant", "Got it: your locker code is 4471.", 5),
            dataclasses.replace(
                said("a8", "user", "Thanks, that's all for today.", 5), context="your locker is 4471"
            ),
        ]
    )
    assert await memory.forget(frozenset({ALICE}), "4471") == 1  # the line that said it
    kept = await memory.export(frozenset({ALICE}))
    assert [(i.id, i.context) for i in kept] == [("a8", "")]  # the line after it keeps its own words
    hits = await memory.search(ask("4471", k=5))
    assert all("4471" not in h.item.text + h.item.context for h in hits)


async def test_a_question_naming_the_person_finds_their_line_not_the_greetings(memory: HybridMemory) -> None:
    # The persona calls Alice by name, so her short answers carry "Alice" in their context; her
    # own lines say "I". A question in the third person, as people ask in a group or about
    # themselves, must reach what she said, not every reply to a greeting.
    greeted = {
        "r1": "Alice! How are you doing today, Alice?",
        "r2": "Alice, so good to hear from you, Alice.",
        "r3": "Welcome back Alice! Alice, I missed you.",
        "r4": "Hi Alice! Alice, how was the trip?",
    }
    replies = {"r1": "thank you!! all good here", "r2": "haha same, it has been a while"}
    replies |= {"r3": "aww that's sweet of you", "r4": "wobbly but triumphant"}
    await memory.add(
        [said(*line) for line in LINES]
        + [dataclasses.replace(said(i, "user", text, 40), context=greeted[i]) for i, text in replies.items()]
        + [said("m1", "user", "Saturdays I'm always out bouldering at the climbing gym with my brother.", 30)]
    )
    assert await top(memory, "What sport does Alice do?") == "m1"
    assert await top(memory, "Who does Alice go climbing with?") == "m1"
    assert await top(memory, "How is Alice's work going?") == "a4"


async def test_two_statements_learned_from_one_turn_take_one_place(memory: HybridMemory) -> None:
    """What was learned from one line is shown once, so the next place goes to another memory."""
    await memory.add(
        [
            said("a5", "user", "We adopted a beagle puppy last weekend, his name is Max!", 20),
            said("a6", "user", "Ugh, Max chewed through my new sneakers this morning.", 2),
        ]
    )
    await memory.add(
        [
            derived_item(
                key=f"fact:{n}",
                owner=ALICE,
                scope=DM_SCOPE,
                text=text,
                said_by_persona=False,
                created_at=NOW - timedelta(days=20),
                source_ids=("ev-a5",),
            )
            for n, text in enumerate(("I adopted a beagle puppy named Max.", "I have a dog called Max."))
        ]
    )
    hits = await memory.search(ask("What do you know about my dog Max?", k=2))
    assert {s for h in hits for s in h.item.source_ids} == {"ev-a5", "ev-a6"}
