"""Pure rendering and splitting of outgoing messages."""

from __future__ import annotations

from adapters.matrix.render import (
    edit_content,
    fits_in_event,
    message_content,
    render_html,
    reply_relation,
    split_markdown,
)


def test_markdown_becomes_matrix_html_and_raw_html_never_passes() -> None:
    html = render_html("# Title\n\n**bold** `code` <img src=x onerror=alert(1)> <script>x()</script>")
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert "<code>code</code>" in html
    assert "<img" not in html
    assert "<script" not in html


def test_links_keep_safe_schemes_only() -> None:
    assert 'href="https://example.org"' in render_html("[ok](https://example.org)")
    assert "href" not in render_html("[bad](javascript:alert(1))")


def test_code_blocks_keep_their_language_class() -> None:
    html = render_html("```python\nprint(1)\n```")
    assert '<code class="language-python">' in html


def test_short_text_is_one_chunk() -> None:
    assert split_markdown("hello", 100) == ["hello"]


def test_long_text_splits_at_paragraphs_within_the_limit() -> None:
    text = "\n\n".join(f"paragraph {n} " + "word " * 30 for n in range(20))
    chunks = split_markdown(text, 500)
    assert len(chunks) > 1
    assert all(len(chunk) <= 500 for chunk in chunks)
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())


def test_a_code_fence_cut_in_two_is_closed_and_reopened() -> None:
    code = "\n".join(f"line_{n} = {n}" for n in range(200))
    text = f"Intro\n\n```python\n{code}\n```\n\nOutro"
    chunks = split_markdown(text, 600)
    assert len(chunks) > 2
    for chunk in chunks:
        assert chunk.count("```") % 2 == 0, chunk  # every part renders as a complete code block
    assert chunks[1].startswith("```python")


def test_one_giant_line_is_cut_at_spaces() -> None:
    chunks = split_markdown("word " * 1000, 300)
    assert all(len(chunk) <= 300 for chunk in chunks)
    assert all(not chunk.startswith("rd") for chunk in chunks)


def test_a_chunk_fits_in_one_matrix_event() -> None:
    assert fits_in_event(message_content("é" * 4000, msgtype="m.text"))
    assert not fits_in_event(message_content("é" * 20000, msgtype="m.text"))


def test_reply_relations_in_and_out_of_threads() -> None:
    assert reply_relation(reply_to="$a", thread_root=None) == {"m.in_reply_to": {"event_id": "$a"}}
    threaded = reply_relation(reply_to="$a", thread_root="$root")
    assert threaded["rel_type"] == "m.thread"
    assert threaded["event_id"] == "$root"
    assert threaded["is_falling_back"] is True


def test_an_edit_carries_new_content_and_a_fallback() -> None:
    edit = edit_content("$orig", message_content("new text", msgtype="m.notice"))
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$orig"}
    assert edit["m.new_content"]["body"] == "new text"
    assert edit["body"] == "* new text"
    assert edit["msgtype"] == "m.notice"
