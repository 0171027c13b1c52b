"""Generate bench/data/familiar_recall.json: multi-session DMs with planted facts and questions.

Deterministic (seeded). Each conversation mixes small talk (user and persona) with planted facts;
questions are worded differently from the facts (paraphrase), and cover single facts, updates
(only the newest statement is evidence), temporal questions (the same kind of event happens in
several sessions; only the time expression tells which), and multi-hop questions (two turns in
different sessions must both be found).

    python -m bench.data.make_familiar_recall [--conversations 24] [--seed 7] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

USERS = ["Alice", "Bruno", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana", "Ivo", "Jules", "Kira", "Luis"]
SMALL_TALK = [
    "Work was pretty busy today, lots of meetings.",
    "I'm a bit tired, didn't sleep that well.",
    "The weather has been strange lately, sunny then pouring.",
    "I had a really good coffee this morning.",
    "Not much new, just the usual routine.",
    "I should probably go to bed earlier tonight.",
    "Traffic was awful on the way home.",
    "I finally cleaned up my inbox.",
    "Do you ever get bored of talking to people?",
    "I've been listening to a lot of podcasts recently.",
    "My phone battery keeps dying so fast.",
    "I'm thinking about reorganising my desk.",
]
PERSONA = [
    "That sounds like a lot. How are you feeling about it?",
    "Thanks for telling me! I'll keep that in mind.",
    "Oh nice, that's lovely to hear.",
    "Hmm, I hope tomorrow is a calmer day for you.",
    "Interesting! Tell me more whenever you like.",
    "I'm always happy to chat, whatever is on your mind.",
    "That makes sense. Anything I can help with?",
    "Good for you! Small wins count.",
]
# (fact text, question, category) — facts and questions share few content words on purpose.
STATIC: list[tuple[str, str, list[str]]] = [
    (
        "I adopted a little beagle puppy, we named him {x}.",
        "What's the name of my dog?",
        ["Biscuit", "Pepper", "Milo"],
    ),
    (
        "My younger sister {x} is studying marine biology.",
        "What does my sibling study at university?",
        ["Clara", "Noor", "Eva"],
    ),
    (
        "I'm allergic to {x}, even a trace makes me sick.",
        "Is there any food I must avoid?",
        ["peanuts", "shellfish", "sesame"],
    ),
    ("I drive an old {x} that my dad gave me.", "What car do I have?", ["Volvo 240", "Saab 900", "Golf GTI"]),
    (
        "My favourite novel of all time is {x}.",
        "Which book do I love most?",
        ["Dune", "Middlemarch", "Beloved"],
    ),
    (
        "I play the {x} in a small amateur band on Thursdays.",
        "What instrument do I play?",
        ["bass guitar", "cello", "drums"],
    ),
    ("I grew up in {x}, near the harbour.", "Where is my hometown?", ["Gdansk", "Porto", "Halifax"]),
    (
        "My partner {x} works as a nurse on night shifts.",
        "What is my partner's job?",
        ["Sam", "Robin", "Kai"],
    ),
    (
        "I'm training for a half marathon in {x}.",
        "What race am I preparing for?",
        ["October", "the spring", "Berlin"],
    ),
    ("I can't stand coriander, it tastes like soap to me.", "Which herb do I dislike?", [""]),
]
UPDATES: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    (
        "I work as a {x} at a small agency.",
        "I quit the agency, I'm now a {y} at a hospital.",
        "What's my current job?",
        [("graphic designer", "data analyst"), ("copywriter", "scheduler")],
    ),
    (
        "I live in a flat in {x}.",
        "We finally moved! Our new place is in {y}.",
        "Where do I live now?",
        [("Leeds", "York"), ("Lyon", "Grenoble")],
    ),
    (
        "My wifi password is {x}.",
        "I changed the wifi password, it's {y} now.",
        "What's the wifi password these days?",
        [("sunflower42", "otter-lamp-9"), ("bluefjord7", "tangerine88")],
    ),
]
EVENTS = [
    "I went bouldering at the climbing gym and finally sent a purple route.",
    "We had a picnic by the river with some friends.",
    "I spent the whole day baking sourdough bread.",
    "I went to a jazz concert downtown, the saxophonist was incredible.",
    "I visited my grandmother and we looked at old photo albums.",
    "I tried a new Ethiopian restaurant and loved the injera.",
    "I repainted the bathroom a pale green colour.",
    "I went kayaking on the lake and got soaked.",
]
EVENT_QUESTIONS = [
    "What did I do {when}?",
    "How did I spend my time {when}?",
    "What was I up to {when}?",
]
MULTI: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    (
        "My best friend is called {x}.",
        "{x} just got a job offer in {y}!",
        "Which city did my best friend get a job in?",
        [("Tomas", "Oslo"), ("Priya", "Nairobi")],
    ),
    (
        "My mentor at work is {x}.",
        "{x} recommended I read {y}.",
        "What book did my mentor suggest?",
        [("Dr. Reyes", "Thinking, Fast and Slow"), ("Marguerite", "The Mythical Man-Month")],
    ),
]


def _session_times(rng: random.Random, count: int) -> list[datetime]:
    start = datetime(2023, 3, 6, 18, 0) + timedelta(days=rng.randint(0, 20))
    times, t = [], start
    for _ in range(count):
        times.append(t.replace(hour=rng.choice([9, 12, 18, 20, 21]), minute=rng.randint(0, 59)))
        t += timedelta(days=rng.randint(6, 9))
    return times


def _when(event_time: datetime, asked: datetime, rng: random.Random) -> str:
    days = (asked.date() - event_time.date()).days
    options = [
        f"on {event_time.day} {event_time:%B} {event_time.year}",
        f"on {event_time:%B} {event_time.day}",
    ]
    if days == 1:
        options.append("yesterday")
    if 2 <= days <= 6:
        options.append(f"{['two', 'three', 'four', 'five', 'six'][days - 2]} days ago")
    return rng.choice(options)


def make_conversation(index: int, rng: random.Random) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    user = f"{USERS[index % len(USERS)]}{index // len(USERS) or ''}"
    cid = f"c{index + 1}"
    n_sessions = rng.randint(7, 9)
    times = _session_times(rng, n_sessions)
    sessions: list[list[tuple[str, str]]] = [[] for _ in range(n_sessions)]
    questions: list[dict[str, Any]] = []

    def plant(session: int, text: str) -> tuple[int, int]:
        sessions[session].append((user, text))
        return session, len(sessions[session]) - 1

    keyed: list[tuple[str, list[tuple[int, int]], str]] = []  # question, evidence slots, category
    for fact, question, values in rng.sample(STATIC, 5):
        keyed.append(
            (question, [plant(rng.randrange(n_sessions), fact.format(x=rng.choice(values)))], "single-hop")
        )
    for old, new, question, pairs in rng.sample(UPDATES, 2):
        x, y = rng.choice(pairs)
        first = rng.randrange(0, n_sessions // 2)
        plant(first, old.format(x=x))
        keyed.append((question, [plant(rng.randrange(first + 1, n_sessions), new.format(y=y))], "update"))
    first_fact, second_fact, question, hop_pairs = rng.choice(MULTI)
    x, y = rng.choice(hop_pairs)
    a = rng.randrange(0, n_sessions - 1)
    hop = [
        plant(a, first_fact.format(x=x)),
        plant(rng.randrange(a + 1, n_sessions), second_fact.format(x=x, y=y)),
    ]
    keyed.append((question, hop, "multi-hop"))
    events = rng.sample(EVENTS, min(len(EVENTS), n_sessions))
    event_slots = [plant(s, events[s % len(events)]) for s in range(n_sessions)]

    # Interleave small talk and persona replies, then shuffle each session's user lines in place.
    turns_out: list[dict[str, Any]] = []
    slot_ids: dict[tuple[int, int], str] = {}
    for s, lines in enumerate(sessions):
        order = list(range(len(lines)))
        rng.shuffle(order)
        out_turns, n = [], 0
        fillers = rng.sample(SMALL_TALK, rng.randint(2, 4))
        stream: list[tuple[str, str, tuple[int, int] | None]] = [(user, f, None) for f in fillers]
        stream += [(lines[i][0], lines[i][1], (s, i)) for i in order]
        rng.shuffle(stream)
        for speaker, text, slot in stream:
            n += 1
            tid = f"D{s + 1}:{n}"
            out_turns.append({"id": tid, "speaker": speaker, "text": text})
            if slot is not None:
                slot_ids[slot] = tid
            n += 1
            out_turns.append({"id": f"D{s + 1}:{n}", "speaker": "Familiar", "text": rng.choice(PERSONA)})
        turns_out.append({"id": f"s{s + 1}", "time": times[s].isoformat(), "turns": out_turns})

    asked = times[-1] + timedelta(days=rng.randint(1, 3), hours=2)
    for question, slots, category in keyed:
        questions.append(
            {"conversation": cid, "question": question, "time": asked.isoformat(),
             "evidence": [slot_ids[s] for s in slots], "category": category}
        )  # fmt: skip
    for s in rng.sample(range(n_sessions), 2):
        when = _when(times[s], asked, rng)
        questions.append(
            {"conversation": cid, "question": rng.choice(EVENT_QUESTIONS).format(when=when),
             "time": asked.isoformat(), "evidence": [slot_ids[event_slots[s]]], "category": "temporal"}
        )  # fmt: skip
    return {"id": cid, "user": user, "sessions": turns_out}, questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("familiar_recall.json"))
    args = parser.parse_args()
    rng = random.Random(args.seed)
    conversations, questions = [], []
    for i in range(args.conversations):
        conversation, qs = make_conversation(i, rng)
        conversations.append(conversation)
        questions.extend(qs)
    args.out.write_text(json.dumps({"conversations": conversations, "questions": questions}, indent=1))
    turns = sum(len(s["turns"]) for c in conversations for s in c["sessions"])
    print(f"wrote {args.out}: {len(conversations)} conversations, {turns} turns, {len(questions)} questions")


if __name__ == "__main__":
    main()
