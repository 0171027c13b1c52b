"""Pure text work for outgoing messages: Markdown -> sanitised HTML, splitting, event content.

Nothing here does I/O. The HTML allow-list is the subset of HTML the Matrix spec lists for
`org.matrix.custom.html`, so clients render it and nothing else (no scripts, no styles, no images
pointing at remote servers) reaches them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import nh3
from markdown_it import MarkdownIt

_ALLOWED_TAGS = {
    "font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol", "sup",
    "sub", "li", "b", "i", "u", "strong", "em", "s", "strike", "code", "hr", "br", "div", "table",
    "thead", "tbody", "tr", "th", "td", "caption", "pre", "span", "details", "summary",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "target"},
    "code": {"class"},
    "ol": {"start"},
    "span": {"data-mx-spoiler"},
}
_URL_SCHEMES = {"https", "http", "ftp", "mailto", "magnet"}
_MAX_EVENT_BYTES = 60_000  # the spec caps a whole event at 65,536 bytes; keep headroom for the envelope
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable(
    ["table", "strikethrough"]
)


def render_html(markdown: str) -> str:
    """Markdown to HTML safe for Matrix clients. Raw HTML in the input is escaped, then sanitised."""
    html = _markdown.render(markdown)
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
    ).strip()


def message_content(markdown: str, *, msgtype: str) -> dict[str, Any]:
    """A plain `body` (the Markdown itself) plus formatted HTML."""
    return {
        "msgtype": msgtype,
        "body": markdown,
        "format": "org.matrix.custom.html",
        "formatted_body": render_html(markdown),
    }


def reply_relation(*, reply_to: str, thread_root: str | None) -> dict[str, Any]:
    """`m.in_reply_to`, or inside a thread `m.thread` with the reply as a fallback for old clients."""
    if thread_root is None:
        return {"m.in_reply_to": {"event_id": reply_to}}
    return {
        "rel_type": "m.thread",
        "event_id": thread_root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": reply_to},
    }


def edit_content(original_event_id: str, new_content: dict[str, Any]) -> dict[str, Any]:
    """An `m.replace` edit; clients that ignore edits show the `* `-prefixed fallback."""
    fallback = dict(new_content)
    fallback["body"] = f"* {new_content['body']}"
    if "formatted_body" in new_content:
        fallback["formatted_body"] = f"* {new_content['formatted_body']}"
    return {
        **fallback,
        "m.new_content": new_content,
        "m.relates_to": {"rel_type": "m.replace", "event_id": original_event_id},
    }


def split_markdown(text: str, max_chars: int) -> list[str]:
    """Split at paragraph, then line boundaries; a code fence cut in two is closed and reopened."""
    if len(text) <= max_chars:
        return [text]
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    open_fence: str | None = None
    for line in _lines_no_longer_than(text, max_chars - 16):
        if size + len(line) > max_chars - 8 and current:
            if open_fence is not None:
                current.append(_closing(open_fence))
            chunks.append("".join(current).rstrip("\n"))
            current = [open_fence + "\n"] if open_fence is not None else []
            size = sum(len(part) for part in current)
        current.append(line)
        size += len(line)
        open_fence = _track_fence(line, open_fence)
    if current:
        chunks.append("".join(current).rstrip("\n"))
    return [chunk for chunk in chunks if chunk.strip()]


def _lines_no_longer_than(text: str, limit: int) -> list[str]:
    """Lines with their newline; a single over-long line is cut at the last space before the limit."""
    lines: list[str] = []
    for whole_line in text.splitlines(keepends=True):
        rest = whole_line
        while len(rest) > limit:
            cut = rest.rfind(" ", 0, limit)
            cut = cut + 1 if cut > limit // 2 else limit
            lines.append(rest[:cut])
            rest = rest[cut:]
        lines.append(rest)
    return lines


def _track_fence(line: str, open_fence: str | None) -> str | None:
    match = _FENCE.match(line.rstrip("\n"))
    if match is None:
        return open_fence
    marker = match.group(2)
    if open_fence is None:
        return line.rstrip("\n").strip()  # remember the opener with its info string (```python)
    if marker.startswith(_fence_marker(open_fence)) and not match.group(3).strip():
        return None
    return open_fence


def _fence_marker(opener: str) -> str:
    match = _FENCE.match(opener)
    return match.group(2) if match else "```"


def _closing(opener: str) -> str:
    return "\n" + _fence_marker(opener) + "\n"


def fits_in_event(content: dict[str, Any]) -> bool:
    # nio serialises with ensure_ascii, so measure the same way (non-ASCII costs up to 12 bytes).
    return len(json.dumps(content).encode()) <= _MAX_EVENT_BYTES
