"""Reading a reminder's time from what people and tools write."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from persona.reminders.when import parse_when

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 2, 14, 30, tzinfo=PARIS)  # a Wednesday afternoon


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 2 minutes", datetime(2026, 12, 2, 14, 32, tzinfo=PARIS)),
        ("in two hours", datetime(2026, 12, 2, 16, 30, tzinfo=PARIS)),
        ("in an hour", datetime(2026, 12, 2, 15, 30, tzinfo=PARIS)),
        ("in half an hour", datetime(2026, 12, 2, 15, 0, tzinfo=PARIS)),
        ("tomorrow at 9", datetime(2026, 12, 3, 9, 0, tzinfo=PARIS)),
        ("Tomorrow at 9:30am.", datetime(2026, 12, 3, 9, 30, tzinfo=PARIS)),
        ("today at 17:45", datetime(2026, 12, 2, 17, 45, tzinfo=PARIS)),
        ("at 9pm", datetime(2026, 12, 2, 21, 0, tzinfo=PARIS)),
        ("at 9", datetime(2026, 12, 3, 9, 0, tzinfo=PARIS)),  # passed today: tomorrow's
        ("tonight at 8", datetime(2026, 12, 2, 20, 0, tzinfo=PARIS)),
        ("friday at 10:15", datetime(2026, 12, 4, 10, 15, tzinfo=PARIS)),
        ("wednesday at 10", datetime(2026, 12, 9, 10, 0, tzinfo=PARIS)),  # today's name: next week
        ("tomorrow morning", datetime(2026, 12, 3, 9, 0, tzinfo=PARIS)),
        ("2026-12-05T08:00", datetime(2026, 12, 5, 8, 0, tzinfo=PARIS)),  # no offset: their zone
        ("2026-12-05 08:00:00+00:00", datetime(2026, 12, 5, 9, 0, tzinfo=PARIS)),
        ("2026-12-05T07:00Z", datetime(2026, 12, 5, 8, 0, tzinfo=PARIS)),
    ],
)
def test_phrases_and_iso_times_are_read_in_the_persons_zone(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize("text", ["", "soon", "at 25:00", "in many minutes", "blursday at 9", "13pm"])
def test_unclear_times_are_refused(text: str) -> None:
    assert parse_when(text, NOW) is None
