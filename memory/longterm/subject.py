"""Whose words a question is about: the person's own, the persona's, or either (pure functions).

"When did I go to the support group?" asks about the person's lines; "what did you paint last
month?" and "what was that recipe you gave me?" about the persona's; "where is the tavern?"
about either. The first subject the question names decides, after the requests addressed to the
persona that only frame a question ("can you remind me", "do you remember") are set aside:
"what did I tell you about my sister?" is about the person. A question that names neither side
gets no preference: role is used only where the question asks for it.

A question about the persona is also turned to the persona's point of view before it is
embedded: the persona said "I painted a sunrise", so "what did you paint?" is searched as
"what did I paint?".
"""

from __future__ import annotations

import functools
import re
from typing import Literal

Side = Literal["user", "assistant"]

# Requests that frame a question without making the persona its subject.
_FRAMING = re.compile(
    r"\b(?:(?:can|could|would|will) you (?:please )?(?:tell|remind|show|give|help) me"
    r"|do you (?:remember|recall|know)(?: (?:if|whether|what|when|where|who|how|why|that))?"
    r"|you know|remind me|tell me|i (?:want|need|would like) to know|i(?:'m| am) wondering"
    r"|i (?:forget|forgot|can't remember|cannot remember|don't remember))\b",
    re.IGNORECASE,
)
# "we" and "our" include the person ("our wedding", "where did we meet?"): their side.
# Longer forms first: the regex takes the first alternative that matches, and "i" would match the
# start of "i'm" (then said as "you'm").
_FIRST = r"i'm|i've|i'd|i'll|i|me|my|mine|myself|we're|we've|we|our|ours|us"
_SECOND = r"you're|you've|you'd|you'll|yourself|yours|your|you"
_PRONOUN = re.compile(rf"\b(?:(?P<first>{_FIRST})|(?P<second>{_SECOND}))\b", re.IGNORECASE)
_SWAP = {
    "i": "you",
    "i'm": "you're",
    "i've": "you've",
    "i'd": "you'd",
    "i'll": "you'll",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "we": "we",
    "we're": "we're",
    "we've": "we've",
    "our": "our",
    "ours": "ours",
    "us": "us",
    "you": "I",
    "you're": "I'm",
    "you've": "I've",
    "you'd": "I'd",
    "you'll": "I'll",
    "your": "my",
    "yours": "mine",
    "yourself": "myself",
}


def _name_pattern(name: str) -> re.Pattern[str] | None:
    first = name.strip().split()[0] if name.strip() else ""
    return re.compile(rf"\b{re.escape(first)}(?:'s)?\b", re.IGNORECASE) if len(first) > 1 else None


def question_side(text: str, *, asker_name: str = "", persona_name: str = "") -> Side | None:
    """The side whose lines the question is about, or None when it names neither (or is unclear)."""
    body = _FRAMING.sub(" ", text)
    marks: list[tuple[int, Side]] = []
    match = _PRONOUN.search(body)
    if match is not None:
        marks.append((match.start(), "user" if match.group("first") else "assistant"))
    for name, side in ((asker_name, "user"), (persona_name, "assistant")):
        pattern = _name_pattern(name)
        found = pattern.search(body) if pattern is not None else None
        if found is not None:
            marks.append((found.start(), side))  # type: ignore[arg-type]
    if not marks:
        return None
    return min(marks)[1]


def from_persona_view(text: str) -> str:
    """The question in the persona's words: "you" and "I" exchanged ("what did you paint?" ->
    "what did I paint?"), since the persona's lines say "I" of itself."""

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        swapped = _SWAP[word.lower()]
        # "I" is capitalised anywhere; what it becomes is only at the start of the question.
        capital = word[0].isupper() and (word.lower()[0] != "i" or match.start() == 0)
        return swapped.capitalize() if capital or swapped.startswith("I") else swapped

    return _PRONOUN.sub(swap, text)


def without_names(text: str, names: tuple[str, ...]) -> str:
    """The question without the asker's and the persona's own names.

    In a person's memories nearly every line is theirs or the persona's, and the persona calls them
    by name ("Congrats, Maya!"): "when did Maya move?" would otherwise match every line that
    greets Maya rather than the one about the move.
    """
    for name in names:
        pattern = _name_pattern(name)
        if pattern is not None:
            text = pattern.sub(" ", text)
    return text


def names_as_pronouns(text: str, *, asker_name: str = "", persona_name: str = "") -> str:
    """The asker's name said as "I" and the persona's as "you", the way each side's lines speak of
    them ("when did Maya move?" is "when did I move?" in Maya's own lines)."""
    for name, subject, possessive in ((asker_name, "I", "my"), (persona_name, "you", "your")):
        pattern = _name_pattern(name)
        if pattern is not None:
            text = pattern.sub(functools.partial(_pronoun, subject=subject, possessive=possessive), text)
    return text


def _pronoun(match: re.Match[str], *, subject: str, possessive: str) -> str:
    return possessive if match.group(0).lower().endswith("'s") else subject
