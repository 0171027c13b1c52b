"""Pure parts: the extraction parser, the prompts and the settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from memory.records import Fact, FactKind
from persona.learning.facts import trim_to_budget
from persona.learning.parsing import parse_extraction
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
