"""Whose words a question is about (pure)."""

from __future__ import annotations

import pytest

from memory.longterm.subject import from_persona_view, names_as_pronouns, question_side, without_names


@pytest.mark.parametrize(
    ("question", "side"),
    [
        ("When did I go to the support group?", "user"),
        ("What did I say my sister's name was?", "user"),
        ("What did I tell you about my sister?", "user"),  # the first subject decides
        ("Can you remind me what my sister's name is?", "user"),  # a request only frames it
        ("Do you remember where I parked?", "user"),
        ("What was that recipe you gave me in May?", "assistant"),
        ("What did you paint last month?", "assistant"),
        ("What's your favourite book?", "assistant"),
        ("What does Juniper think of jazz?", "assistant"),  # the persona by name
        ("On which street did Maya end up renting?", "user"),  # the asker by name
        ("When does the tavern open?", None),  # neither side: no preference
    ],
)
def test_question_side(question: str, side: str | None) -> None:
    assert question_side(question, asker_name="Maya Lind", persona_name="Juniper") == side


def test_a_question_about_the_persona_is_put_in_its_own_words() -> None:
    assert from_persona_view("What did you paint for me?") == "What did I paint for you?"
    assert from_persona_view("Your sister is a nurse, right?") == "My sister is a nurse, right?"
    # contractions are whole words: "I'm" is "you're", never "you'm"
    assert from_persona_view("I'm sure you're right, I've read what you'd said") == (
        "You're sure I'm right, you've read what I'd said"
    )


def test_the_askers_and_personas_names_are_said_as_each_side_says_them() -> None:
    def said(text: str) -> str:
        return names_as_pronouns(text, asker_name="Maya Lind", persona_name="Juniper")

    assert said("When did Maya move into the duplex?") == "When did I move into the duplex?"
    assert said("Who is Maya's sister?") == "Who is my sister?"
    assert said("What did Juniper paint?") == "What did you paint?"
    assert said("Where does Tom live?") == "Where does Tom live?"  # anyone else keeps their name


def test_the_lexical_query_leaves_out_the_two_names_every_line_shares() -> None:
    assert without_names("When did Maya's sister call Juniper?", ("Maya", "Juniper")).split() == [
        "When",
        "did",
        "sister",
        "call",
        "?",
    ]
