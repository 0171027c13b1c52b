"""When a reminder is due, from what a person or a tool wrote (pure functions).

`parse_when(text, now)` reads ISO 8601 ("2026-12-02T09:00", with or without an offset; without
one it is read in `now`'s zone) and the phrases people use: "in 2 minutes", "in an hour",
"tomorrow at 9", "today at 17:30", "at 9pm", "tonight at 8", "friday at 10:15". A bare clock time
that has passed today means tomorrow. Returns an aware datetime, or None when it cannot tell.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20,
            "thirty": 30, "forty-five": 45, "a couple of": 2, "a few": 3}  # fmt: skip
_UNITS = {"second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600, "day": 86400,
          "week": 604800}  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBER = r"(\d+(?:\.\d+)?|a couple of|a few|forty-five|[a-z]+)"
_RELATIVE = re.compile(rf"^in\s+{_NUMBER}\s+(second|sec|minute|min|hour|hr|day|week)s?$")
_HALF_HOUR = re.compile(r"^in\s+half\s+an?\s+hour$")
_CLOCK = r"(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"
_DAY_AT = re.compile(rf"^(?:(today|tonight|tomorrow|next\s+\w+|\w+day)\s*)?(?:at\s+)?{_CLOCK}$")
_DAY_ONLY = re.compile(r"^(tomorrow|tonight|next\s+\w+|\w+day)(?:\s+(morning|afternoon|evening))?$")
_PART_OF_DAY = {"morning": 9, "afternoon": 15, "evening": 19, None: 9}


def parse_when(text: str, now: datetime) -> datetime | None:
    """The moment `text` means, seen from `now` (aware, in the person's zone)."""
    phrase = " ".join(text.strip().lower().rstrip(".!?").split())
    phrase = phrase.removeprefix("on ").removeprefix("at ") if phrase[:3] in {"on ", "at "} else phrase
    for read in (_iso, _relative, _day_at, _day_only):
        found = read(phrase, now)
        if found is not None:
            return found
    return None


def _iso(phrase: str, now: datetime) -> datetime | None:
    if not re.match(r"^\d{4}-\d{2}-\d{2}", phrase):
        return None
    try:
        parsed = datetime.fromisoformat(phrase.upper().replace(" ", "T"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=now.tzinfo) if parsed.tzinfo is None else parsed


def _relative(phrase: str, now: datetime) -> datetime | None:
    if _HALF_HOUR.match(phrase):
        return now + timedelta(minutes=30)
    match = _RELATIVE.match(phrase)
    if match is None:
        return None
    raw, unit = match.groups()
    amount = float(raw) if raw[0].isdigit() else _NUMBERS.get(raw)
    if amount is None:
        return None
    return now + timedelta(seconds=amount * _UNITS[unit])


def _day_at(phrase: str, now: datetime) -> datetime | None:
    match = _DAY_AT.match(phrase)
    if match is None:
        return None
    day_word, hour_s, minute_s, meridiem = match.groups()
    said_hour, minute = int(hour_s), int(minute_s or 0)
    if meridiem is None and day_word == "tonight" and said_hour < 12:
        meridiem = "pm"
    hour = _hour24(said_hour, meridiem)
    if hour is None or minute > 59:
        return None
    day = _day(day_word, now) if day_word is not None else now.date()
    if day is None:
        return None
    moment = datetime.combine(day, time(hour, minute), tzinfo=now.tzinfo)
    if day_word is None and moment <= now:
        moment += timedelta(days=1)  # "at 9" once 9 has passed today: tomorrow's
    return moment


def _day_only(phrase: str, now: datetime) -> datetime | None:
    match = _DAY_ONLY.match(phrase)
    if match is None:
        return None
    day_word, part = match.groups()
    day = _day(day_word, now)
    if day is None:
        return None
    hour = 20 if day_word == "tonight" else _PART_OF_DAY[part]
    return datetime.combine(day, time(hour, 0), tzinfo=now.tzinfo)


def _hour24(hour: int, meridiem: str | None) -> int | None:
    if meridiem is None:
        return hour if hour < 24 else None
    if not 1 <= hour <= 12:
        return None
    base = hour % 12
    return base + 12 if meridiem.startswith("p") else base


def _day(word: str, now: datetime) -> date | None:
    today = now.date()
    if word in {"today", "tonight"}:
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    name = word.removeprefix("next").strip()
    if name not in _WEEKDAYS:
        return None
    ahead = (_WEEKDAYS.index(name) - today.weekday()) % 7
    return today + timedelta(days=ahead or 7)  # "friday" on a Friday: next week's
