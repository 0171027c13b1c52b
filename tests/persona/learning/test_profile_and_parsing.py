"""Pure parts: the profile section, the extraction parser, the prompts and the settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from memory.records import Dossier, Fact, FactKind
from persona.learning.facts import trim_to_budget
from persona.learning.parsing import parse_extraction
from persona.learning.profile import profile_section
from persona.learning.prompts import Line, fact_extraction_user
from persona.learning.settings import LearningSettings
from tests.persona.learning.support import ALICE, T0


def make(attribute: str, value: str, kind: FactKind, superseded_by: str | None = None) -> Fact:
    return Fact(
        id=f"f-{attribute}-{value}",
        owner=ALICE,
        scope="dm",
        subject="user",
        attribute=attribute,
        value=value,
        kind=kind,
        confidence=0.9,
        source_ids=("e1",),
        valid_from=T0,
        recorded_at=T0,
        superseded_by=superseded_by,
        superseded_at=T0 + timedelta(hours=1) if superseded_by else None,
    )


def test_profile_puts_constraints_first_and_hides_superseded() -> None:
    facts = [
        make("favourite_food", "sushi", "preference"),
        make("name", "Alice", "identity"),
        make("api_key", "ABC", "identity", superseded_by="f-new"),
        make("api_key", "XYZ", "identity"),
        make("diet", "vegetarian", "constraint"),
        make("sister", "Carol", "relationship"),
        make("name_to_avoid", "", "constraint"),
    ]
    dossier = Dossier(owner=ALICE, scope="dm", summary="Alice, a vegetarian engineer.", updated_at=T0)
    text = profile_section(facts, dossier)
    assert text.splitlines()[1] == "Constraints (always respect these):"
    assert text.splitlines()[2] == "- diet: vegetarian"
    assert "ABC" not in text
    assert "- api key: XYZ" in text
    assert "name to avoid" not in text
    assert text.index("Identity") < text.index("Preferences") < text.index("Other") < text.index("Summary")


def test_empty_profile_is_empty() -> None:
    assert profile_section([], None) == ""
    assert profile_section([make("a", "b", "identity", superseded_by="x")], None) == ""


def test_parser_normalises_and_skips_bad_items() -> None:
    parsed = parse_extraction(
        '```\n{"facts": [{"attribute": "Favourite Food", "value": "dal", "kind": "Preference",'
        ' "confidence": 7}, {"attribute": "", "value": "x", "kind": "identity"},'
        ' {"attribute": "age", "value": 31, "kind": "identity", "confidence": "high"}],'
        ' "dossier": "  "}\n```'
    )
    assert parsed is not None
    assert [(f.attribute, f.value, f.kind, f.confidence) for f in parsed.facts] == [
        ("favourite_food", "dal", "preference", 1.0),
        ("age", "31", "identity", 0.7),
    ]
    assert parsed.dossier is None


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '{"facts": ', "```json\n{oops}\n```"])
def test_parser_rejects_garbage(text: str) -> None:
    assert parse_extraction(text) is None


def test_trim_to_budget_keeps_whole_sentences() -> None:
    def count(s: str) -> int:
        return len(s.split())

    assert trim_to_budget("One two. Three four. Five six.", 4, count) == "One two. Three four."
    assert trim_to_budget("a b c d e f", 3, count) == "a b c"
    assert trim_to_budget("short", 3, count) == "short"


def test_extraction_prompt_shows_known_facts_and_times() -> None:
    text = fact_extraction_user(
        facts=[make("diet", "vegetarian", "constraint")],
        dossier=None,
        lines=[Line(author="Alice", text="I eat fish now", at=T0)],
        reply="Got it.",
    )
    assert "- diet = vegetarian (constraint)" in text
    assert "[2026-11-24 09:00] Alice: I eat fish now" in text


def test_settings_validate_timezone_and_hour() -> None:
    assert LearningSettings(timezone="Europe/Lisbon").zone.key == "Europe/Lisbon"
    with pytest.raises(ValidationError):
        LearningSettings(timezone="Mars/Olympus")
    with pytest.raises(ValidationError):
        LearningSettings(reflection_hour=24)
