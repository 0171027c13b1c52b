from __future__ import annotations

from datetime import datetime

import pytest

from memory.timeparse import parse_time_range

NOW = datetime(2023, 6, 1, 10, 0)  # a Thursday


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("what did I do yesterday?", datetime(2023, 5, 31), datetime(2023, 6, 1)),
        ("two days ago I said something", datetime(2023, 5, 30), datetime(2023, 5, 31)),
        ("on 8 May 2023 we talked", datetime(2023, 5, 8), datetime(2023, 5, 9)),
        ("what about May 8th, 2023", datetime(2023, 5, 8), datetime(2023, 5, 9)),
        ("on May 8", datetime(2023, 5, 8), datetime(2023, 5, 9)),
        ("what did I eat in May", datetime(2023, 5, 1), datetime(2023, 6, 1)),
        ("in December", datetime(2022, 12, 1), datetime(2023, 1, 1)),
        ("last month", datetime(2023, 5, 1), datetime(2023, 6, 1)),
        ("on Monday", datetime(2023, 5, 29), datetime(2023, 5, 30)),
        ("last weekend", datetime(2023, 5, 27), datetime(2023, 5, 29)),
        ("2023-05-08", datetime(2023, 5, 8), datetime(2023, 5, 9)),
        ("what did I cook over the weekend?", datetime(2023, 5, 27), datetime(2023, 5, 29)),
        ("what did I read in the spring?", datetime(2023, 3, 1), datetime(2023, 6, 1)),
        ("last summer", datetime(2022, 6, 1), datetime(2022, 9, 1)),  # this one has only begun
        ("what state did I visit in summer 2021?", datetime(2021, 6, 1), datetime(2021, 9, 1)),
        ("the winter of 2021", datetime(2021, 12, 1), datetime(2022, 3, 1)),
        ("what did you give me at Christmas?", datetime(2022, 12, 24), datetime(2022, 12, 27)),
        ("on new year's eve", datetime(2022, 12, 31), datetime(2023, 1, 1)),
        ("what did we do at Easter", datetime(2023, 4, 7), datetime(2023, 4, 11)),
        ("thanksgiving dinner", datetime(2022, 11, 24), datetime(2022, 11, 28)),
    ],
)
def test_expressions_map_to_the_interval_the_speaker_means(text: str, start: datetime, end: datetime) -> None:
    found = parse_time_range(text, NOW)
    assert found is not None
    assert (found.start, found.end) == (start, end)


def test_last_week_covers_the_previous_calendar_week() -> None:
    found = parse_time_range("what happened last week?", NOW)
    assert found is not None
    assert found.start <= datetime(2023, 5, 22)
    assert found.end >= datetime(2023, 5, 28)
    assert found.end <= datetime(2023, 5, 29)


def test_may_as_a_verb_is_not_a_month() -> None:
    assert parse_time_range("I may go swimming", NOW) is None
    assert parse_time_range("I don't want to fall again", NOW) is None
    assert parse_time_range("what is my dog called", NOW) is None


def test_a_future_day_without_year_means_last_year() -> None:
    found = parse_time_range("on 20 June", NOW)
    assert found is not None
    assert found.start == datetime(2022, 6, 20)
