"""Turn documents into knowledgebase chunks. Pure functions: no I/O, no event loop.

Markdown and HTML chunks follow the document's headings (each chunk's title is its heading
path, "Guide > Setup > Linux"); plain text and PDF pages split on paragraphs. A section longer
than `max_chars` is split further on paragraph, then sentence, then word boundaries, so a
chunk never exceeds the limit and is never cut mid-word.

`chunk_pdf` parses with pypdf and is CPU bound: call it through `asyncio.to_thread`.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePath

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag
from markdown_it import MarkdownIt

DEFAULT_MAX_CHARS = 1200
TITLE_SEPARATOR = " > "
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown"})
TEXT_SUFFIXES = frozenset({".txt", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES | TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES

_HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_DROPPED_HTML_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "object", "head")
_BLOCK_TAGS = (
    *_HEADING_TAGS,
    *("p", "li", "pre", "blockquote", "td", "th", "dd", "dt", "figcaption", "caption"),
    *("div", "section", "article", "main", "aside", "header", "footer", "nav", "table", "body"),
)
_BLANK_LINES = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")


class UnreadableDocument(ValueError):
    """The document cannot be parsed or holds no text; the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Chunk:
    title: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class _Section:
    path: tuple[str, ...]
    paragraphs: tuple[str, ...]


def chunk_document(name: str, data: bytes, *, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    """Chunk a file's bytes by its suffix. Raises UnreadableDocument for bad or unsupported input."""
    suffix = PurePath(name).suffix.lower()
    doc_title = PurePath(name).stem
    if suffix in PDF_SUFFIXES:
        return chunk_pdf(data, doc_title=doc_title, max_chars=max_chars)
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnreadableDocument(f"unsupported file type {suffix or '(none)'!r}")
    text = _decode(data)
    if suffix in MARKDOWN_SUFFIXES:
        return chunk_markdown(text, doc_title=doc_title, max_chars=max_chars)
    if suffix in HTML_SUFFIXES:
        return chunk_html(text, doc_title=doc_title, max_chars=max_chars)
    return chunk_text(text, doc_title=doc_title, max_chars=max_chars)


def chunk_markdown(text: str, *, doc_title: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    return _chunks_from_sections(_markdown_sections(text), doc_title, max_chars)


def chunk_text(text: str, *, doc_title: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    section = _Section(path=(), paragraphs=tuple(_paragraphs(text)))
    return _chunks_from_sections([section], doc_title, max_chars)


def chunk_html(html: str, *, doc_title: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    soup = BeautifulSoup(html, "html.parser")
    title_tag = soup.find("title")
    if isinstance(title_tag, Tag) and title_tag.get_text(strip=True):
        doc_title = _clean(title_tag.get_text())
    for tag in soup.find_all(_DROPPED_HTML_TAGS):
        tag.decompose()
    return _chunks_from_sections(_html_sections(soup), doc_title, max_chars)


def chunk_pdf(data: bytes, *, doc_title: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    """One section per page ("guide (page 2)"). Blocking: run it in a thread."""
    from pypdf import PdfReader  # imported lazily: pypdf is only needed when a PDF shows up

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many unrelated types for one corrupt file
        raise UnreadableDocument(f"not a readable PDF: {type(exc).__name__}: {exc}") from exc
    sections = [
        _Section(path=(f"{doc_title} (page {number})",), paragraphs=tuple(_paragraphs(text)))
        for number, text in enumerate(pages, start=1)
    ]
    chunks = _chunks_from_sections(sections, doc_title, max_chars)
    if not chunks:
        raise UnreadableDocument("the PDF has no extractable text (scanned images?)")
    return chunks


def split_paragraphs(paragraphs: Iterable[str], max_chars: int) -> list[str]:
    """Pack paragraphs into pieces of at most `max_chars`, splitting only oversized ones."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for paragraph in paragraphs:
        for part in _split_oversized(paragraph, max_chars):
            if current and size + 2 + len(part) > max_chars:
                pieces.append("\n\n".join(current))
                current, size = [], 0
            size += len(part) + (2 if current else 0)
            current.append(part)
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def _chunks_from_sections(sections: Iterable[_Section], doc_title: str, max_chars: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in sections:
        title = TITLE_SEPARATOR.join(section.path) or doc_title
        chunks.extend(
            Chunk(title=title, text=piece) for piece in split_paragraphs(section.paragraphs, max_chars)
        )
    return chunks


def _markdown_sections(text: str) -> list[_Section]:
    lines = text.splitlines()
    tokens = MarkdownIt("commonmark").parse(text)
    sections: list[_Section] = []
    path: list[tuple[int, str]] = []  # (heading level, heading text)
    body: list[str] = []
    for index, token in enumerate(tokens):
        if token.level != 0 or token.map is None or token.nesting == -1:
            continue
        if token.type == "heading_open":
            sections.append(_Section(path=tuple(t for _, t in path), paragraphs=tuple(body)))
            body = []
            level = int(token.tag[1])
            path = [entry for entry in path if entry[0] < level]
            path.append((level, _clean(tokens[index + 1].content)))
            continue
        start, end = token.map
        block = "\n".join(lines[start:end]).strip()
        if block:
            body.append(block)
    sections.append(_Section(path=tuple(t for _, t in path), paragraphs=tuple(body)))
    return [section for section in sections if section.paragraphs]


def _html_sections(soup: BeautifulSoup) -> list[_Section]:
    sections: list[_Section] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []
    for block, text in _html_blocks(soup):
        if block.name in _HEADING_TAGS:
            sections.append(_Section(path=tuple(t for _, t in path), paragraphs=tuple(body)))
            body = []
            level = int(block.name[1])
            path = [entry for entry in path if entry[0] < level]
            path.append((level, text))
        else:
            body.append(text)
    sections.append(_Section(path=tuple(t for _, t in path), paragraphs=tuple(body)))
    return [section for section in sections if section.paragraphs]


def _html_blocks(soup: BeautifulSoup) -> Iterator[tuple[Tag, str]]:
    """Consecutive text of the same innermost block element, in document order."""
    current: Tag | None = None
    parts: list[str] = []
    for string in soup.find_all(string=True):
        # Comments, doctypes and CDATA are NavigableString subclasses; only plain text counts.
        if type(string) is not NavigableString:
            continue
        block = string.find_parent(_BLOCK_TAGS)
        if block is None:
            continue
        if block is not current:
            if current is not None and (text := _clean_html_text(current, parts)):
                yield current, text
            current, parts = block, []
        parts.append(str(string))
    if current is not None and (text := _clean_html_text(current, parts)):
        yield current, text


def _clean_html_text(block: Tag, parts: list[str]) -> str:
    text = "".join(parts)
    # Outside <pre>, HTML line breaks are just spaces.
    return _clean(text) if block.name == "pre" else " ".join(text.split())


def _paragraphs(text: str) -> Iterator[str]:
    for paragraph in _BLANK_LINES.split(text.replace("\r\n", "\n")):
        cleaned = paragraph.strip()
        if cleaned:
            yield cleaned


def _split_oversized(paragraph: str, max_chars: int) -> list[str]:
    if len(paragraph) <= max_chars:
        return [paragraph]
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        pieces.extend(_split_words(sentence, max_chars))
    return _pack_words(pieces, max_chars)


def _split_words(text: str, max_chars: int) -> list[str]:
    if len(text) <= max_chars:
        return [text]
    words = text.split()
    # A single "word" longer than the limit (a URL, a base64 blob) is cut by characters.
    flat = [w[i : i + max_chars] for w in words for i in range(0, len(w), max_chars)]
    return _pack_words(flat, max_chars)


def _pack_words(words: list[str], max_chars: int) -> list[str]:
    pieces: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if len(candidate) > max_chars and current:
            pieces.append(current)
            candidate = word
        current = candidate
    if current:
        pieces.append(current)
    return pieces


def _clean(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise UnreadableDocument("binary content in a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableDocument(f"not UTF-8 text (byte {exc.start})") from exc
