"""Splitting long replies: every part fits, fences are balanced in each, nothing is lost."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord.splitting import DISCORD_LIMIT, split_message, split_pieces


def _fence_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.lstrip(" \t").startswith("```"))


_LINES = st.one_of(
    st.text(alphabet="abc xyz.,`*", min_size=0, max_size=80),
    st.sampled_from(["```", "```python", "```js", "", "   ```", "# heading", "- item"]),
    st.text(alphabet="w", min_size=100, max_size=400),  # one very long word: forces a hard cut
)
_TEXTS = st.lists(_LINES, max_size=60).map("\n".join)


@settings(max_examples=300, deadline=None)
@given(text=_TEXTS, limit=st.integers(min_value=60, max_value=400))
def test_split_parts_fit_are_balanced_and_lose_nothing(text: str, limit: int) -> None:
    pieces = split_pieces(text, limit)
    assert "".join(p.body for p in pieces) == text
    for piece in pieces:
        assert len(piece.text) <= limit
        assert _fence_lines(piece.text) % 2 == 0
        assert piece.prefix in ("",) or piece.prefix.startswith("```")
        assert piece.suffix in ("", "```", "\n```")


@settings(max_examples=50, deadline=None)
@given(text=st.text(min_size=0, max_size=9000))
def test_split_at_discord_size_on_arbitrary_text(text: str) -> None:
    parts = split_message(text)
    assert all(len(part) <= DISCORD_LIMIT for part in parts)
    assert all(_fence_lines(part) % 2 == 0 for part in parts)


def test_short_text_is_one_part() -> None:
    assert split_message("hello") == ["hello"]


def test_paragraph_boundaries_are_preferred_over_lines() -> None:
    first = "a" * 1200
    text = f"{first}\n\nline one\n{'b' * 900}"
    parts = split_message(text)
    assert parts[0] == f"{first}\n\n"
    assert "".join(parts) == text


def test_a_code_block_cut_in_two_is_closed_and_reopened_with_its_language() -> None:
    code = "x = 1\n" * 500  # 3000 characters of Python
    text = f"Here:\n```python\n{code}```\nDone."
    parts = split_message(text)
    assert len(parts) >= 2
    assert parts[0].endswith("```")
    assert parts[1].startswith("```python\n")
    assert parts[-1].endswith("```\nDone.")
    assert all(len(p) <= DISCORD_LIMIT for p in parts)


def test_long_words_are_hard_cut_without_losing_characters() -> None:
    text = "z" * 4500
    parts = split_message(text)
    assert "".join(parts) == text
    assert [len(p) for p in parts] == [2000, 2000, 500]
