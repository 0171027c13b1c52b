"""Chunking follows document structure: headings for Markdown/HTML, paragraphs for text and PDF pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory.kb.chunking import (
    UnreadableDocument,
    chunk_document,
    chunk_html,
    chunk_markdown,
    chunk_pdf,
    chunk_text,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "kb"


def make_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF: one Helvetica line per text line, one page per string."""
    page_ids = [4 + 2 * i for i in range(len(pages))]
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for page_id, text in zip(page_ids, pages, strict=True):
        shown = []
        for line in text.split("\n"):
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            shown.append(f"({escaped}) Tj T*")
        stream = ("BT /F1 12 Tf 14 TL 72 720 Td " + " ".join(shown) + " ET").encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {page_id + 1} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_markdown_chunks_carry_their_heading_path() -> None:
    chunks = chunk_document("lighthouse.md", (DATA / "lighthouse.md").read_bytes())

    by_title = {chunk.title: chunk.text for chunk in chunks}
    assert list(by_title) == [
        "Lighthouse Keeper's Handbook",
        "Lighthouse Keeper's Handbook > Lamp",
        "Lighthouse Keeper's Handbook > Lamp > Fuel",
        "Lighthouse Keeper's Handbook > Fog signal",
    ]
    assert "foghorn" in by_title["Lighthouse Keeper's Handbook > Fog signal"]
    # A '#' line inside a code fence is code, not a heading.
    assert "# this is a comment in a code block" in by_title["Lighthouse Keeper's Handbook > Lamp > Fuel"]


def test_markdown_before_any_heading_uses_the_document_title() -> None:
    chunks = chunk_markdown("Just a note.\n\n## Later\n\nMore.", doc_title="notes")

    assert [(c.title, c.text) for c in chunks] == [("notes", "Just a note."), ("Later", "More.")]


def test_long_sections_split_on_paragraphs_then_words_within_the_limit() -> None:
    paragraphs = [f"Paragraph {n} " + "word " * 40 for n in range(6)]
    chunks = chunk_markdown("# Big\n\n" + "\n\n".join(paragraphs), doc_title="d", max_chars=500)

    assert len(chunks) > 1
    assert all(chunk.title == "Big" and len(chunk.text) <= 500 for chunk in chunks)
    words = " ".join(chunk.text for chunk in chunks).split()
    assert words == " ".join(paragraphs).split()  # nothing lost, no word cut


def test_one_huge_paragraph_is_split_without_cutting_words() -> None:
    text = " ".join(f"sentence{n} goes here." for n in range(200))
    chunks = chunk_text(text, doc_title="t", max_chars=300)

    assert all(len(chunk.text) <= 300 for chunk in chunks)
    assert " ".join(chunk.text for chunk in chunks).split() == text.split()


def test_text_splits_on_blank_lines() -> None:
    chunks = chunk_document("harbour.txt", (DATA / "harbour.txt").read_bytes(), max_chars=90)

    assert [chunk.title for chunk in chunks] == ["harbour", "harbour"]
    assert chunks[0].text.startswith("The harbour master is Agnes")
    assert chunks[1].text.startswith("Ferries to the mainland")


def test_html_drops_scripts_and_styles_and_follows_headings() -> None:
    chunks = chunk_document("tavern.html", (DATA / "tavern.html").read_bytes())

    everything = " ".join(chunk.title + " " + chunk.text for chunk in chunks)
    assert "tracking-pixel-code" not in everything
    assert "inline script" not in everything
    assert "color: red" not in everything
    assert [chunk.title for chunk in chunks] == ["The Drowned Anchor", "The Drowned Anchor > Regulars"]
    assert chunks[0].text == "The tavern by the quay serves smoked mackerel and dark ale."
    assert "Maisie plays the fiddle" in chunks[1].text


def test_html_inline_markup_keeps_words_together() -> None:
    chunks = chunk_html("<p>Sea<b>side</b> town,\n  quiet <i>and</i> grey.</p>", doc_title="x")

    assert [chunk.text for chunk in chunks] == ["Seaside town, quiet and grey."]


def test_pdf_pages_become_titled_chunks() -> None:
    pdf = make_pdf(["First page about gulls.", "Second page about tides.\n\nA new paragraph."])

    chunks = chunk_pdf(pdf, doc_title="almanac")

    assert [chunk.title for chunk in chunks] == ["almanac (page 1)", "almanac (page 2)"]
    assert "gulls" in chunks[0].text
    assert "tides" in chunks[1].text


def test_corrupt_pdf_is_reported_as_unreadable() -> None:
    with pytest.raises(UnreadableDocument, match="not a readable PDF"):
        chunk_document("broken.pdf", (DATA / "broken.pdf").read_bytes())


def test_binary_and_unsupported_files_are_unreadable() -> None:
    with pytest.raises(UnreadableDocument, match="binary"):
        chunk_document("notes.txt", b"\x00\x01\x02garbage")
    with pytest.raises(UnreadableDocument, match="UTF-8"):
        chunk_document("notes.md", b"caf\xe9 latin-1")
    with pytest.raises(UnreadableDocument, match="unsupported"):
        chunk_document("photo.jpg", b"\xff\xd8")
