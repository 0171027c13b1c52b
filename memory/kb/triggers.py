"""Keyword and regex triggers for lorebook-style entries. Pure and cached.

A key is a keyword (matched case-insensitively on word boundaries, runs of whitespace in the
key match any whitespace) or, written as "/pattern/", a regular expression (also matched
case-insensitively). Each distinct key set is compiled once; a bad regex is rejected when the
entry is added, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

Patterns = tuple[re.Pattern[str], ...]


class InvalidKey(ValueError):
    """A trigger key that cannot be used; the message names the key and the reason."""


def is_regex_key(key: str) -> bool:
    return len(key) >= 3 and key.startswith("/") and key.endswith("/")


def compile_keys(keys: Sequence[str]) -> Patterns:
    """Compile (once per distinct key set) the patterns of an entry's keys."""
    return _compile_cached(tuple(keys))


def fires(patterns: Patterns, text: str) -> bool:
    return any(pattern.search(text) for pattern in patterns)


@lru_cache(maxsize=4096)
def _compile_cached(keys: tuple[str, ...]) -> Patterns:
    return tuple(_compile_key(key) for key in keys)


def _compile_key(key: str) -> re.Pattern[str]:
    stripped = key.strip()
    if not stripped:
        raise InvalidKey("empty trigger key")
    if is_regex_key(stripped):
        try:
            return re.compile(stripped[1:-1], re.IGNORECASE)
        except re.error as exc:
            raise InvalidKey(f"bad regex key {key!r}: {exc}") from None
    words = (re.escape(word) for word in stripped.split())
    # (?<!\w)/(?!\w) rather than \b so keys that start or end with punctuation ("c++") still work.
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)
