"""Prompt assembly as plain functions: order, budget, whole items, attachments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from memory.records import Dossier, Fact, KBEntry, MemoryHit, MemoryItem, Turn, Visibility
from persona.gather import Gathered
from persona.prompt import build_prompt
from persona.providers.base import ChatRequest
from persona.types import Attachment
from tests.fakes.engine import message, persona

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
VIS = Visibility(owners=frozenset({"terminal:alice"}), scope="dm")


def words(text: str) -> int:
    return len(text.split())


def _turn(i: int, text: str, role: str = "user") -> Turn:
    return Turn(
        event_id=f"t{i}",
        session="s",
        role=role,  # type: ignore[arg-type]
        owner="terminal:alice",
        author_name="Alice",
        text=text,
        created_at=NOW + timedelta(minutes=i),
        scope="dm",
        platform="terminal",
        room_id="dm-alice",
    )


def _fact(attribute: str, value: str, kind: str) -> Fact:
    return Fact(
        id=attribute,
        owner="terminal:alice",
        scope="dm",
        subject="user",
        attribute=attribute,
        value=value,
        kind=kind,  # type: ignore[arg-type]
        confidence=0.8,
        source_ids=("e",),
        valid_from=NOW,
        recorded_at=NOW,
    )


def _everything(request: ChatRequest) -> str:
    return request.system + "\n" + "\n".join(m.content for m in request.messages)


def test_sections_come_in_priority_order_with_constraints_first() -> None:
    gathered = Gathered(
        visibility=VIS,
        facts=(_fact("hometown", "Porto", "identity"), _fact("allergy", "peanuts", "constraint")),
        dossier=Dossier(
            owner="terminal:alice", scope="dm", summary="Alice sails on weekends.", updated_at=NOW
        ),
        memories=(
            MemoryHit(
                item=MemoryItem(
                    id="m",
                    owner="terminal:alice",
                    scope="dm",
                    text="I bought a boat",
                    created_at=NOW,
                    source_ids=("x",),
                ),
                score=1.0,
            ),
        ),
        kb=(KBEntry(id="k", title="Harbour", text="The harbour closes at dusk.", kind="constant"),),
    )
    built = build_prompt(persona=persona(), messages=[message("hi")], gathered=gathered, count=words)
    system = built.request.system
    order = [
        "You are Test",
        "Be brief.",
        "peanuts",
        "Porto",
        "sails on weekends",
        "bought a boat",
        "closes at dusk",
    ]
    positions = [system.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_tight_budget_keeps_newest_history_and_whole_items_only() -> None:
    history = tuple(_turn(i, f"message number {i} is a complete sentence here.") for i in range(40))
    spec = persona(context_tokens=600, reply_max_tokens=300)  # room for about 20 turns
    built = build_prompt(
        persona=spec,
        messages=[message("latest question")],
        gathered=Gathered(visibility=VIS, history=history),
        count=words,
    )
    text = _everything(built.request)
    kept = [i for i in range(40) if f"message number {i} is a complete sentence here." in text]
    assert kept, "some history fits"
    assert kept == list(range(kept[0], 40))  # a contiguous newest tail
    assert 0 not in kept
    assert built.dropped["history"] == kept[0]
    assert text.count("message number") == len(kept)  # nothing half-included
    assert built.tokens <= spec.prompt_budget
    assert built.request.max_tokens == 300


def test_constraints_survive_a_budget_that_drops_everything_else() -> None:
    gathered = Gathered(
        visibility=VIS,
        facts=(_fact("allergy", "peanuts", "constraint"), _fact("pet", "a cat named Miso " * 50, "identity")),
        history=tuple(_turn(i, "long " * 200) for i in range(5)),
    )
    spec = persona(context_tokens=512, reply_max_tokens=400)
    built = build_prompt(persona=spec, messages=[message("hi")], gathered=gathered, count=words)
    assert "peanuts" in built.request.system
    assert "Miso" not in built.request.system
    assert built.dropped["facts"] == 1
    assert built.dropped["history"] == 5


def test_merged_messages_are_all_in_the_last_user_turn() -> None:
    merged = [message("first thought"), message("second thought"), message("so what do you think?")]
    built = build_prompt(persona=persona(), messages=merged, gathered=Gathered(visibility=VIS), count=words)
    last = built.request.messages[-1]
    assert last.role == "user"
    assert last.content.index("first thought") < last.content.index("so what do you think?")


def test_history_alternates_and_starts_with_the_user() -> None:
    history = (
        _turn(0, "orphan reply", "assistant"),
        _turn(1, "q1"),
        _turn(2, "a1", "assistant"),
        _turn(3, "q2"),
    )
    built = build_prompt(
        persona=persona(),
        messages=[message("q3")],
        gathered=Gathered(visibility=VIS, history=history),
        count=words,
    )
    roles = [m.role for m in built.request.messages]
    assert roles == ["user", "assistant", "user"]
    assert "orphan reply" not in _everything(built.request)
    assert built.request.messages[-1].content == "q2\n\nq3"  # a dangling user turn joins the next one


def test_attachments_text_inlined_images_by_vision_and_refusals_noted() -> None:
    files = (
        Attachment(kind="text", filename="notes.txt", content_type="text/plain", size=12, text="buy rope"),
        Attachment(kind="image", filename="boat.png", content_type="image/png", size=3, data=b"png"),
        Attachment(
            kind="file", filename="big.zip", content_type="application/zip", size=10**9, note="too large"
        ),
    )
    msg = message("look", attachments=files)
    seeing = build_prompt(
        persona=persona(vision=True), messages=[msg], gathered=Gathered(visibility=VIS), count=words
    )
    last = seeing.request.messages[-1]
    assert "buy rope" in last.content
    assert [i.data for i in last.images] == [b"png"]
    assert "big.zip: too large" in last.content
    blind = build_prompt(
        persona=persona(vision=False), messages=[msg], gathered=Gathered(visibility=VIS), count=words
    )
    assert blind.request.messages[-1].images == ()
    assert "cannot see images" in blind.request.messages[-1].content


def test_group_history_names_each_speaker() -> None:
    turn = _turn(0, "I like tea")
    group_msg = message("and you?", room="general", is_dm=False)
    built = build_prompt(
        persona=persona(),
        messages=[group_msg],
        gathered=Gathered(visibility=VIS, history=(turn,)),
        count=words,
    )
    assert built.request.messages[0].content.startswith("Alice: I like tea")
