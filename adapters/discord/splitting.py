"""Split a long reply into Discord-sized messages without breaking code fences.

Pure functions. A cut prefers a paragraph boundary, then a line boundary, then a space, and only
then a hard cut. When a cut falls inside a fenced code block the part is closed with a fence line
and the next part reopens the block with the same language, so every part renders on its own.
Nothing is dropped: the original text is exactly the concatenation of every piece's `body`.
"""

from __future__ import annotations

from dataclasses import dataclass

DISCORD_LIMIT = 2000
FENCE = "```"
_CLOSE_RESERVE = len("\n" + FENCE)
_MAX_LANG = 20  # longer info strings are not repeated on reopening (keeps the reserve bounded)
_MAX_PREFIX = len(FENCE) + _MAX_LANG + 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Piece:
    """One outgoing part: `prefix + body + suffix`, where prefix/suffix are added fence lines."""

    prefix: str
    body: str
    suffix: str

    @property
    def text(self) -> str:
        return self.prefix + self.body + self.suffix


@dataclass(frozen=True, slots=True, kw_only=True)
class _FenceLine:
    start: int  # index of the line's first character
    marker_end: int  # index just past the opening backticks
    lang: str


def split_message(text: str, limit: int = DISCORD_LIMIT) -> list[str]:
    """The parts to send, each at most `limit` characters, fences balanced in each."""
    return [piece.text for piece in split_pieces(text, limit)]


def split_pieces(text: str, limit: int = DISCORD_LIMIT) -> list[Piece]:
    """Like `split_message` but says which characters were added (for tests and edits)."""
    if limit <= _MAX_PREFIX + _CLOSE_RESERVE + 1:
        raise ValueError(f"limit {limit} is too small to split with fences")
    fences = _fence_lines(text)
    pieces: list[Piece] = []
    start = 0
    prefix = ""
    while True:
        end = _choose_cut(text, start, limit - len(prefix), fences)
        lang = _open_fence_at(end, fences)
        suffix = "" if lang is None else ("" if text[start:end].endswith("\n") else "\n") + FENCE
        pieces.append(Piece(prefix=prefix, body=text[start:end], suffix=suffix))
        if end >= len(text):
            return pieces
        prefix = "" if lang is None else FENCE + lang + "\n"
        start = end


def _fence_lines(text: str) -> list[_FenceLine]:
    found: list[_FenceLine] = []
    start = 0
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip(" \t")
        if stripped.startswith(FENCE):
            marker_end = start + (len(line) - len(stripped)) + len(FENCE)
            lang = stripped[len(FENCE) :].strip()
            found.append(_FenceLine(start=start, marker_end=marker_end, lang=_reopen_lang(lang)))
        start += len(line)
    return found


def _reopen_lang(info: str) -> str:
    # Only a plain language tag is repeated; anything else reopens a bare block.
    if len(info) <= _MAX_LANG and info.replace("-", "").replace("+", "").replace("#", "").isalnum():
        return info
    return ""


def _open_fence_at(pos: int, fences: list[_FenceLine]) -> str | None:
    """The language of the fenced block open at `pos` (None when outside any block)."""
    lang: str | None = None
    for fence in fences:
        if fence.marker_end > pos:
            break
        lang = fence.lang if lang is None else None
    return lang


def _choose_cut(text: str, start: int, budget: int, fences: list[_FenceLine]) -> int:
    """Where the piece starting at `start` ends; the whole rest when it fits."""
    # Room for a closing fence line is kept only when the text has fences at all.
    reserve = _CLOSE_RESERVE if fences else 0
    if len(text) - start + reserve <= budget:
        return len(text)
    hi = start + budget - reserve
    min_fill = max(1, (hi - start) // 4)
    for separator in ("\n\n", "\n", " "):
        idx = text.rfind(separator, start, hi)
        while idx != -1:
            cut = idx + len(separator)
            if cut - start < min_fill:
                break
            if _is_valid_cut(text, cut, fences):
                return cut
            idx = text.rfind(separator, start, idx)
    for cut in range(hi, start, -1):
        if _is_valid_cut(text, cut, fences):
            return cut
    return hi  # pathological: a single line of backticks longer than a message


def _is_valid_cut(text: str, pos: int, fences: list[_FenceLine]) -> bool:
    """A cut must not split a fence marker nor make the rest of a line start like one."""
    for fence in fences:
        if fence.start < pos < fence.marker_end:
            return False
    line_start = text.rfind("\n", 0, pos) + 1
    if line_start == pos:
        return True
    line_end = text.find("\n", pos)
    rest = text[pos:] if line_end == -1 else text[pos:line_end]
    return not rest.lstrip(" \t").startswith(FENCE)
