"""Time expressions in a query ("yesterday", "last week", "in May", "on 8 May 2023", "two days ago",
"over the weekend", "last summer", "at Christmas").

Pure functions: `parse_time_range(text, now)` returns the half-open interval the speaker means,
relative to `now` (in `now`'s timezone, naive stays naive), or None. Retrieval uses it to favour
memories from that interval; it never filters on it alone, since a parse can be wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
WEEKDAYS = {
    d: i for i, d in enumerate(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
}
NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "couple of": 2, "a couple of": 2,
    "few": 3, "a few": 3,
}  # fmt: skip

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_NUM = r"\d{1,3}|" + "|".join(sorted((re.escape(n) for n in NUMBERS), key=len, reverse=True))
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeRange:
    start: datetime  # inclusive
    end: datetime  # exclusive
    phrase: str  # the words that expressed it


def _day_start(dt: datetime) -> datetime:
    return dt.replace(hour=0, minute=0, second=0, microsecond=0)


def _month_range(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1)
    end = datetime(year + (month == 12), month % 12 + 1, 1)
    return start, end


def _with_tz(dt: datetime, now: datetime) -> datetime:
    return dt.replace(tzinfo=now.tzinfo)


def _number(word: str) -> int:
    return int(word) if word.isdigit() else NUMBERS[word]


def _explicit_date(text: str, now: datetime) -> TimeRange | None:
    patterns = [
        rf"\b{_DAY}(?:\s+of)?\s+(?P<month>{_MONTH})\.?(?:,?\s+{_YEAR})?\b",
        rf"\b(?P<month>{_MONTH})\.?\s+{_DAY}(?:,?\s+{_YEAR})?\b",
        r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b",
    ]
    for pattern in patterns:
        m = re.search(pattern, text)
        if m is None:
            continue
        month_word = m.group("month")
        month = int(month_word) if month_word.isdigit() else MONTHS[month_word]
        day = int(m.group("day"))
        year = int(m.group("year")) if m.group("year") else now.year
        try:
            start = _with_tz(datetime(year, month, day), now)
        except ValueError:
            continue
        if not m.group("year") and start > now:
            start = start.replace(year=year - 1)
        return TimeRange(start=start, end=start + timedelta(days=1), phrase=m.group(0))
    return None


def _month_mention(text: str, now: datetime) -> TimeRange | None:
    # "may" alone is usually the verb: only "in/during/since/back in May" or "May 2023" count.
    m = re.search(rf"\b(?:in|during|back in|early|late|mid)\s+(?P<month>{_MONTH})\b(?:\s+{_YEAR})?", text)
    m = m or re.search(rf"\b(?P<month>{_MONTH})\s+{_YEAR}\b", text)
    if m is None:
        return None
    month = MONTHS[m.group("month")]
    year = int(m.group("year")) if m.group("year") else now.year
    if not m.group("year") and datetime(year, month, 1) > now.replace(tzinfo=None):
        year -= 1
    start, end = _month_range(year, month)
    return TimeRange(start=_with_tz(start, now), end=_with_tz(end, now), phrase=m.group(0))


def _relative(text: str, now: datetime) -> TimeRange | None:
    today = _day_start(now)
    fixed = {
        r"\bday before yesterday\b": (today - timedelta(days=2), today - timedelta(days=1)),
        r"\b(?:yesterday|last night)\b": (today - timedelta(days=1), today),
        r"\b(?:today|this morning|tonight|this afternoon|this evening|earlier today)\b": (
            today,
            today + timedelta(days=1),
        ),
    }
    for pattern, (start, end) in fixed.items():
        m = re.search(pattern, text)
        if m:
            return TimeRange(start=start, end=end, phrase=m.group(0))
    m = re.search(rf"\b(?P<n>{_NUM})\s+(?P<unit>day|week|month|year)s?\s+ago\b", text)
    if m:
        return _ago(_number(m.group("n")), m.group("unit"), now, m.group(0))
    return _named_period(text, now)


def _ago(n: int, unit: str, now: datetime, phrase: str) -> TimeRange:
    today = _day_start(now)
    if unit == "day":
        start = today - timedelta(days=n)
        return TimeRange(start=start, end=start + timedelta(days=1), phrase=phrase)
    if unit == "week":
        centre = today - timedelta(weeks=n)
        return TimeRange(start=centre - timedelta(days=4), end=centre + timedelta(days=4), phrase=phrase)
    if unit == "month":
        centre = today - timedelta(days=30 * n)
        return TimeRange(start=centre - timedelta(days=16), end=centre + timedelta(days=16), phrase=phrase)
    start, end = _with_tz(datetime(now.year - n, 1, 1), now), _with_tz(datetime(now.year - n + 1, 1, 1), now)
    return TimeRange(start=start, end=end, phrase=phrase)


def _named_period(text: str, now: datetime) -> TimeRange | None:
    today = _day_start(now)
    week_start = today - timedelta(days=today.weekday())
    m = re.search(r"\b(?P<which>last|this|past)\s+(?P<unit>week|weekend|month|year)\b", text)
    if m:
        which, unit = m.group("which"), m.group("unit")
        if unit == "weekend":
            saturday = (
                week_start + timedelta(days=5) - (timedelta(weeks=1) if which == "last" else timedelta())
            )
            if which == "last" and saturday + timedelta(days=7) <= today:
                saturday += timedelta(weeks=1)  # on Monday, "last weekend" is the one just gone
            return TimeRange(start=saturday, end=saturday + timedelta(days=2), phrase=m.group(0))
        if unit == "week":
            if which == "this":
                return TimeRange(start=week_start, end=today + timedelta(days=1), phrase=m.group(0))
            # People say "last week" for both the previous calendar week and "about 7–14 days ago".
            start = min(week_start - timedelta(weeks=1), today - timedelta(days=14))
            end = max(week_start, today - timedelta(days=6)) if which == "last" else today + timedelta(days=1)
            return TimeRange(start=start, end=end, phrase=m.group(0))
        if unit == "month":
            month_start = today.replace(day=1)
            if which == "this":
                return TimeRange(start=month_start, end=today + timedelta(days=1), phrase=m.group(0))
            if which == "past":
                return TimeRange(
                    start=today - timedelta(days=31), end=today + timedelta(days=1), phrase=m.group(0)
                )
            prev = (month_start - timedelta(days=1)).replace(day=1)
            return TimeRange(start=prev, end=month_start, phrase=m.group(0))
        year_start = today.replace(month=1, day=1)
        if which == "last":
            return TimeRange(
                start=year_start.replace(year=year_start.year - 1), end=year_start, phrase=m.group(0)
            )
        return TimeRange(start=year_start, end=today + timedelta(days=1), phrase=m.group(0))
    m = re.search(
        r"\b(?:on|last|this past)\s+(?P<wd>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", text
    )
    if m:
        back = (today.weekday() - WEEKDAYS[m.group("wd")]) % 7 or 7
        start = today - timedelta(days=back)
        return TimeRange(start=start, end=start + timedelta(days=1), phrase=m.group(0))
    return None


# Meteorological seasons of the northern hemisphere, where most of our users are: (first month, months).
SEASONS = {"spring": (3, 3), "summer": (6, 3), "autumn": (9, 3), "fall": (9, 3), "winter": (12, 3)}


def _months_from(year: int, month: int, count: int) -> tuple[datetime, datetime]:
    index = year * 12 + month - 1 + count
    return datetime(year, month, 1), datetime(index // 12, index % 12 + 1, 1)


def _season(text: str, now: datetime) -> TimeRange | None:
    m = re.search(
        r"\b(?:(?P<which>last|this|past)\s+|(?:in|during|over)\s+(?:the\s+)?)"
        r"(?P<season>spring|summer|autumn|fall|winter)\b(?:\s+(?:of\s+)?(?P<year>(?:19|20)\d{2})\b)?",
        text,
    )
    m = m or re.search(rf"\b(?P<season>spring|summer|autumn|fall|winter)\s+(?:of\s+)?{_YEAR}\b", text)
    if m is None:
        return None
    first, count = SEASONS[m.group("season")]
    if m.group("year"):
        start, end = _months_from(int(m.group("year")), first, count)
        return TimeRange(start=_with_tz(start, now), end=_with_tz(end, now), phrase=m.group(0))
    naive = now.replace(tzinfo=None)
    year = naive.year
    start, end = _months_from(year, first, count)
    while start > naive:  # the most recent one that has begun
        year -= 1
        start, end = _months_from(year, first, count)
    if m.group("which") == "last" and end > naive:  # "last summer" in August is the one before
        start, end = _months_from(year - 1, first, count)
    return TimeRange(start=_with_tz(start, now), end=_with_tz(end, now), phrase=m.group(0))


def _easter(year: int) -> datetime:
    """Gregorian Easter Sunday (the anonymous algorithm, as in Meeus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    r = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * r) // 451
    month, day = divmod(h + r - 7 * m + 114, 31)
    return datetime(year, month, day + 1)


def _thanksgiving(year: int) -> datetime:
    first = datetime(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 21)  # the fourth Thursday (US)


# Each holiday as (start in a given year, days): the days people mean when they name it.
HOLIDAYS: dict[str, Callable[[int], tuple[datetime, int]]] = {
    r"christmas eve": lambda y: (datetime(y, 12, 24), 1),
    r"christmas|xmas": lambda y: (datetime(y, 12, 24), 3),
    r"new year'?s eve": lambda y: (datetime(y, 12, 31), 1),
    r"new year'?s(?: day)?|new year": lambda y: (datetime(y, 12, 31), 2),
    r"halloween": lambda y: (datetime(y, 10, 31), 1),
    r"valentine'?s(?: day)?": lambda y: (datetime(y, 2, 14), 1),
    r"thanksgiving": lambda y: (_thanksgiving(y), 4),
    r"easter": lambda y: (_easter(y) - timedelta(days=2), 4),  # Good Friday to Easter Monday
}


def _holiday(text: str, now: datetime) -> TimeRange | None:
    naive = now.replace(tzinfo=None)
    for pattern, dates in HOLIDAYS.items():
        m = re.search(rf"\b(?:{pattern})\b", text)
        if m is None:
            continue
        year = naive.year
        start, days = dates(year)
        while start > naive:  # the most recent one that has begun
            year -= 1
            start, days = dates(year)
        return TimeRange(
            start=_with_tz(start, now), end=_with_tz(start + timedelta(days=days), now), phrase=m.group(0)
        )
    return None


def _the_weekend(text: str, now: datetime) -> TimeRange | None:
    """ "Over the weekend" is the weekend just gone, or the one we are in."""
    m = re.search(r"\b(?:over|at|on|during)\s+the\s+weekend\b", text)
    if m is None:
        return None
    today = _day_start(now)
    saturday = today - timedelta(days=(today.weekday() - 5) % 7)
    return TimeRange(start=saturday, end=saturday + timedelta(days=2), phrase=m.group(0))


def parse_time_range(text: str, now: datetime) -> TimeRange | None:
    """The interval a time expression in `text` refers to, relative to `now`; None if there is none."""
    lowered = " ".join(text.lower().split())
    for parser in (_explicit_date, _relative, _month_mention, _the_weekend, _holiday, _season):
        found = parser(lowered, now)
        if found is not None:
            return found
    return None
