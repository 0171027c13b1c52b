"""Edge normalisation and the prompt's budget for hostile text, as plain functions."""

from __future__ import annotations

import json

from memory.records import Visibility
from persona.gather import Gathered
from persona.inbound import InputLimits, clean_text, cut_note, normalise
from persona.prompt import build_prompt
from persona.providers.tokens import TokenCounter
from persona.types import Attachment
from tests.fakes.engine import message, persona

LONE = "\ud800"  # valid JSON ("\\ud800"), not encodable as UTF-8
VIS = Visibility(owners=frozenset({"terminal:alice"}), scope="dm")


def test_lone_surrogates_nul_and_controls_are_cleaned_and_newlines_and_tabs_kept() -> None:
    cleaned = clean_text(f"a{LONE}b\x00c\x07d\x1b[31me\r\nf\rg\th\x7fi\x85j")
    assert cleaned == "a\ufffdbcd[31me\nf\ng\thij"
    cleaned.encode("utf-8")  # storable and sendable


def test_a_surrogate_pair_split_in_two_code_points_is_joined_not_replaced() -> None:
    assert clean_text("\ud83d\ude00") == "😀"
    assert clean_text(json.loads('"\\udc80 x"')) == "\ufffd x"


def test_a_long_message_is_cut_with_a_note_and_everything_else_is_cleaned() -> None:
    limits = InputLimits(max_text_chars=1000, max_attachments=2, max_attachment_bytes=10)
    files = [
        Attachment(kind="text", filename=f"f{LONE}.txt", content_type="text/plain", size=3, text="x\x00y"),
        Attachment(kind="image", filename="big.png", content_type="image/png", size=11, data=b"0" * 11),
        Attachment(kind="file", filename="third.bin", content_type="x", size=1),
    ]
    hostile = message("z" * 5000, name=f"Al{LONE}ice\x00", attachments=files)
    clean = normalise(hostile, limits)
    kept = 1000 - len(cut_note(5000)) - 1
    assert clean.text == "z" * kept + "\n" + cut_note(5000 - kept)
    assert len(clean.text) <= 1000
    assert clean.author_name == "Al\ufffdice"
    first, second, extra = clean.attachments
    assert (first.filename, first.text) == ("f\ufffd.txt", "xy")
    assert second.data is None
    assert second.note is not None
    assert "too large" in second.note
    assert extra.note == "only the first 2 files of a message are read"
    assert normalise(clean, limits) == clean  # idempotent: adapters may apply it twice


def test_the_token_counter_never_raises_on_invalid_text() -> None:
    assert TokenCounter().count(f"hello {LONE} world") > 0


def test_a_merged_turn_of_huge_messages_is_cut_to_the_persona_budget() -> None:
    spec = persona(context_tokens=16_000, reply_max_tokens=800)
    counter = TokenCounter()
    merged = [message(f"{i} " + "lorem ipsum dolor sit amet " * 4000, event_id=f"m{i}") for i in range(5)]
    built = build_prompt(
        persona=spec, messages=merged, gathered=Gathered(visibility=VIS), count=counter.count
    )
    text = built.request.system + "".join(m.content for m in built.request.messages)
    assert counter.count(text) <= spec.prompt_budget
    assert built.tokens <= spec.prompt_budget
    current = built.request.messages[-1].content
    assert current.count("[message cut:") == 5  # every message kept in part, each cut visibly
    assert all(f"{i} lorem" in current for i in range(5))


def test_a_bad_string_in_stored_history_reaches_the_provider_cleaned() -> None:
    def strict(text: str) -> int:
        text.encode("utf-8")  # raises on a lone surrogate, as a real tokenizer does
        return len(text.split())

    spec = persona()
    turn = message(f"hi {LONE} there\x00")
    built = build_prompt(persona=spec, messages=[turn], gathered=Gathered(visibility=VIS), count=strict)
    assert built.request.messages[-1].content == "hi \ufffd there"
