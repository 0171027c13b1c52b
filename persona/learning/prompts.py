"""Prompts for background learning: plain, pure functions (no I/O), tested as text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from memory.records import Fact, JournalEntry

FACT_KINDS = ("identity", "preference", "constraint", "relationship", "event", "task")


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """One line of conversation as the learning prompts show it."""

    author: str
    text: str
    at: datetime


def fact_extraction_system(dossier_token_budget: int) -> str:
    kinds = ", ".join(FACT_KINDS)
    return (
        "You maintain long-term memory about the user of a chat assistant. From the new messages, "
        "extract durable facts about the user (not about the assistant, not small talk, not one-off "
        "questions). Reply with ONE JSON object and nothing else:\n"
        '{"facts": [{"subject": "user", "attribute": "snake_case_name", "value": "...", '
        f'"kind": one of [{kinds}], "confidence": 0.0-1.0, "retracts": false, '
        '"statement": "the fact as one plain sentence"}], '
        '"told": ["what the assistant told, promised or recommended the user, one sentence each"], '
        '"dossier": "revised summary" or null}\n'
        "Rules:\n"
        # First person, as each side would say it: a later question is put in those words
        # ("when did I adopt...", "what did you recommend..." is searched as "what did I...").
        '- "statement" says the fact plainly, in the user\'s own first person, with its when and '
        'where, e.g. "I adopted a beagle named Rex in May 2023."\n'
        '- "told" lists only what the assistant\'s reply gave the user worth recalling later (a '
        "recipe, a recommendation, a promise, advice, something about the assistant itself), in "
        'the assistant\'s first person, e.g. "I recommended the book Piranesi to you."; [] when '
        "there is none.\n"
        "- Reuse the attribute name of a known fact when the user updates it (new key, new name, "
        "moved city): the new value replaces the old one.\n"
        "- Rules the user sets for how to treat them (diet, allergies, 'never call me X') are kind "
        "constraint.\n"
        '- When the user withdraws an earlier fact or instruction ("actually you can call me Bob '
        'now"), output that known attribute with its old value and "retracts": true.\n'
        "- Keep secrets the user gives you verbatim; they are stored privately.\n"
        '- No facts: "facts": [].\n'
        f'- "dossier": a revised third-person summary of the user in at most {dossier_token_budget} '
        "tokens, folding the new facts into the current summary; null when nothing changed."
    )


def fact_extraction_user(
    *, facts: Sequence[Fact], dossier: str | None, lines: Sequence[Line], reply: str
) -> str:
    known = "\n".join(f"- {f.attribute} = {f.value} ({f.kind})" for f in facts) or "(none)"
    said = "\n".join(f"[{line.at:%Y-%m-%d %H:%M}] {line.author}: {line.text}" for line in lines)
    return (
        f"Known current facts about the user:\n{known}\n\n"
        f"Current summary:\n{dossier or '(none)'}\n\n"
        f"New messages from the user:\n{said}\n\n"
        f"The assistant replied:\n{reply or '(no reply)'}"
    )


def journal_entry_system(persona: str) -> str:
    return (
        f"You are {persona}, writing your private journal. In the first person, in 2-5 sentences, "
        "write what happened in the conversation below, how it felt, and anything to remember or "
        "follow up. Plain prose, no heading, no lists."
    )


def journal_entry_user(*, place: str, lines: Sequence[Line]) -> str:
    said = "\n".join(f"[{line.at:%H:%M}] {line.author}: {line.text}" for line in lines)
    return f"Conversation ({place}):\n{said}"


def reflection_system(persona: str) -> str:
    return (
        f"You are {persona}. It is morning. Read yesterday's journal entries below and write, in the "
        "first person and in 2-5 sentences, your intentions for today: what to follow up, ask or "
        "remember. Plain prose, no heading."
    )


def reflection_user(*, day: str, place: str, entries: Sequence[JournalEntry]) -> str:
    body = "\n\n".join(f"[{e.created_at:%H:%M}] {e.text}" for e in entries)
    return f"Journal of {day} ({place}):\n{body}"


def describe_place(scope: str) -> str:
    return "a private direct conversation" if scope == "dm" else f"the group room {scope}"
