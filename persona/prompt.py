"""Prompt assembly: pure functions from gathered context to one `ChatRequest`, within budget.

Priority (what survives when the budget is tight): the persona's own prompt and style, the
user's constraints and the message being answered are always kept; then example exchanges,
what is known about the user (facts, dossier), retrieved memories, knowledgebase entries, the
journal, and finally history, newest first. Items are kept or dropped WHOLE, never cut, and the
persona's reply room (`reply_max_tokens`) is reserved by `PersonaSpec.prompt_budget`. Only the
turn being answered is ever cut: when it alone exceeds the budget (a merged turn of very long
messages), its messages are cut to fit, each with a note saying how much was left out.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from memory.records import Fact, MemoryItem, Turn
from persona.gather import Gathered
from persona.inbound import clean_text, cut_text
from persona.personas import PersonaSpec
from persona.providers.base import ChatMessage, ChatRequest, Image
from persona.providers.tokens import estimate_tokens
from persona.types import Attachment, IncomingMessage

TokenCount = Callable[[str], int]
ITEM_OVERHEAD_TOKENS = 4  # separators, bullets and role markers around each item
IMAGE_TOKENS = 800  # a conservative flat cost for one image (providers bill 85-1600)

_HEADINGS: dict[str, str] = {
    "examples": "## Example exchanges (tone only, not real history)",
    "facts": "## What you know about {user}",
    "dossier": "## Summary of {user}",
    "memories": "## Things you remember from earlier conversations",
    "kb": "## Reference knowledge",
    "journal": "## Your recent journal",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltPrompt:
    request: ChatRequest
    tokens: int  # estimated prompt tokens (system + messages)
    dropped: Counter[str] = field(default_factory=Counter)  # items left out, per section


@dataclass(slots=True)
class _Budget:
    left: int
    count: TokenCount
    dropped: Counter[str] = field(default_factory=Counter)

    def cost(self, text: str) -> int:
        return self.count(text) + ITEM_OVERHEAD_TOKENS

    def take(self, section: str, items: Iterable[str], *, contiguous: bool = False) -> list[str]:
        """Keep each item that fits whole; `contiguous` stops at the first that does not."""
        kept: list[str] = []
        heading = _HEADINGS.get(section, "")
        heading_cost = self.cost(heading) if heading else 0
        pending = list(items)
        for index, item in enumerate(pending):
            need = self.cost(item) + (heading_cost if not kept else 0)
            if need <= self.left:
                kept.append(item)
                self.left -= need
            elif contiguous:  # e.g. history: an older turn after a gap would read out of order
                self.dropped[section] += len(pending) - index
                break
            else:
                self.dropped[section] += 1
        return kept


def build_prompt(
    *,
    persona: PersonaSpec,
    messages: Sequence[IncomingMessage],
    gathered: Gathered,
    count: TokenCount,
) -> BuiltPrompt:
    """The whole request for one turn answering `messages` (oldest first, last is replied to)."""
    user = messages[-1].author_name
    is_group = not messages[-1].is_dm
    core = _core_system(persona)
    constraints, other_facts = split_constraints(gathered.facts)
    constraint_block = _constraints_block(user, constraints)
    current, images = render_current(messages, vision=persona.vision, is_group=is_group)
    budget = _Budget(left=persona.prompt_budget, count=safe_count(count))
    room = persona.prompt_budget - sum(budget.cost(part) for part in (core, constraint_block) if part)
    if budget.cost(current) + IMAGE_TOKENS * len(images) > room:
        # The message itself is too big: keep its text, say the files did not fit.
        current, images = render_current(messages, vision=False, is_group=is_group, inline_files=False)
        if budget.cost(current) > room:  # still too big (a merged turn of long messages): cut them
            current = render_fitted(messages, room=room, cost=budget.cost, is_group=is_group)
    budget.left = room - budget.cost(current) - IMAGE_TOKENS * len(images)

    examples = budget.take("examples", [f"User: {e.user}\nYou: {e.assistant}" for e in persona.examples])
    facts = budget.take("facts", [_fact_line(f) for f in other_facts])
    dossier = budget.take("dossier", [gathered.dossier.summary] if gathered.dossier else [])
    memories = budget.take("memories", [_memory_line(hit.item) for hit in gathered.memories])
    kb = budget.take("kb", [f"### {e.title}\n{e.text}" if e.title else e.text for e in gathered.kb])
    journal = budget.take("journal", [f"- ({e.day}) {e.text}" for e in gathered.journal])
    newest_first = [_history_text(t, is_group) for t in reversed(gathered.history)]
    kept_history = len(budget.take("history", newest_first, contiguous=True))
    history = list(gathered.history)[len(gathered.history) - kept_history :]

    system = _join(
        core,
        _section("examples", examples, user),
        constraint_block,
        _section("facts", facts, user, extra_heading=not constraint_block),
        _section("dossier", dossier, user),
        _section("memories", memories, user),
        _section("kb", kb, user),
        _section("journal", journal, user),
    )
    chat = _chat_messages(history, is_group=is_group, current=current, images=images)
    request = ChatRequest(
        model=persona.model,
        system=clean_text(system),
        messages=chat,
        max_tokens=persona.reply_max_tokens,
        temperature=persona.temperature,
    )
    used = persona.prompt_budget - budget.left
    return BuiltPrompt(request=request, tokens=used, dropped=budget.dropped)


def safe_count(count: TokenCount) -> TokenCount:
    """`count`, falling back to a safe overestimate if it raises: a bad string (a lone surrogate
    in old history or a file) must never make a turn fail."""

    def counted(text: str) -> int:
        try:
            return count(text)
        except Exception:
            return estimate_tokens(text)

    return counted


def render_fitted(messages: Sequence[IncomingMessage], *, room: int, cost: TokenCount, is_group: bool) -> str:
    """The current turn with every message cut to the longest common length that fits `room`
    (tokens), found by bisection; each cut says how much was left out. Files are not inlined."""

    def render(cap: int) -> str:
        capped = [dataclasses.replace(m, text=cut_text(m.text, cap)) for m in messages]
        return render_current(capped, vision=False, is_group=is_group, inline_files=False)[0]

    low, high = 0, max(len(m.text) for m in messages) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if cost(render(middle)) <= room:
            low = middle
        else:
            high = middle - 1
    return render(low)


def split_constraints(facts: Iterable[Fact]) -> tuple[list[Fact], list[Fact]]:
    """Constraints first and never dropped; the rest most confident first."""
    ordered = sorted(facts, key=lambda f: (-f.confidence, f.attribute))
    return [f for f in ordered if f.kind == "constraint"], [f for f in ordered if f.kind != "constraint"]


def render_current(
    messages: Sequence[IncomingMessage], *, vision: bool, is_group: bool, inline_files: bool = True
) -> tuple[str, tuple[Image, ...]]:
    """The user turn being answered: one message, or several merged ones, with their files."""
    named = is_group or len({m.author_id for m in messages}) > 1
    parts: list[str] = []
    images: list[Image] = []
    for message in messages:
        text = f"{message.author_name}: {message.text}" if named else message.text
        notes: list[str] = []
        for attachment in message.attachments:
            note, image = render_attachment(attachment, vision=vision, inline_files=inline_files)
            notes.append(note)
            if image is not None:
                images.append(image)
        parts.append("\n".join(part for part in (text, *notes) if part))
    return "\n\n".join(parts), tuple(images)


def render_attachment(
    attachment: Attachment, *, vision: bool, inline_files: bool = True
) -> tuple[str, Image | None]:
    name = attachment.filename
    if attachment.note:
        return f"[attachment {name}: {attachment.note}]", None
    if attachment.kind == "image" and attachment.data is not None:
        if vision:
            image = Image(content_type=attachment.content_type, data=attachment.data)
            return f"[image {name} attached]", image
        return f"[an image ({name}) was sent; you cannot see images, say so if it matters]", None
    if attachment.text is not None and attachment.kind == "audio":
        return f"[voice message transcript]\n{attachment.text}", None
    if attachment.text is not None:
        if not inline_files:
            return f"[file {name} was attached but is too long to read here]", None
        return f"[file {name}]\n{attachment.text}\n[end of file {name}]", None
    return f"[file {name} ({attachment.content_type}, {attachment.size} bytes) could not be read]", None


def _core_system(persona: PersonaSpec) -> str:
    style = f"## Style\n{persona.style.strip()}" if persona.style.strip() else ""
    return _join(persona.system_prompt.strip(), style)


def _constraints_block(user: str, constraints: Sequence[Fact]) -> str:
    if not constraints:
        return ""
    lines = "\n".join(_fact_line(f) for f in constraints)
    return f"## What you know about {user}\nConstraints (always respect these):\n{lines}"


def _fact_line(fact: Fact) -> str:
    subject = "" if fact.subject in {"", "user"} else f"{fact.subject} "
    return f"- {subject}{fact.attribute.replace('_', ' ')}: {fact.value}"


def _memory_line(item: MemoryItem) -> str:
    if item.kind == "derived":  # a statement learned from the conversation, not a quote of it
        who = "you said, in short" if item.role == "assistant" else "they said, in short"
    else:
        who = "you said" if item.role == "assistant" else "they said"
    return f"- ({item.created_at.date().isoformat()}, {who}) {item.text}"


def _history_text(turn: Turn, is_group: bool) -> str:
    return f"{turn.author_name}: {turn.text}" if is_group and turn.role == "user" else turn.text


def _section(name: str, items: Sequence[str], user: str, *, extra_heading: bool = True) -> str:
    if not items:
        return ""
    body = "\n".join(items) if name != "kb" else "\n\n".join(items)
    if not extra_heading:  # facts continue the constraints block under the same heading
        return f"Known facts:\n{body}"
    return f"{_HEADINGS[name].format(user=user)}\n{body}"


def _join(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


def _chat_messages(
    history: Sequence[Turn], *, is_group: bool, current: str, images: tuple[Image, ...]
) -> tuple[ChatMessage, ...]:
    """History then the current turn, with same-role neighbours joined and a user turn first
    (Anthropic rejects a conversation that starts with the assistant or repeats a role)."""
    merged: list[tuple[Literal["user", "assistant"], str]] = []
    for role, text in [*((t.role, _history_text(t, is_group)) for t in history), ("user", current)]:
        if merged and merged[-1][0] == role:
            merged[-1] = (role, f"{merged[-1][1]}\n\n{text}")
        elif merged or role == "user":
            merged.append((role, text))
    last = len(merged) - 1
    return tuple(
        # Stored text predates edge normalisation or comes from files: the SDKs cannot send a
        # lone surrogate, so everything is cleaned once more here.
        ChatMessage(role=role, content=clean_text(text), images=images if index == last else ())
        for index, (role, text) in enumerate(merged)
    )
