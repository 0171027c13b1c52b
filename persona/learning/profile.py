"""The user's profile as prompt text: constraints first, then who they are, then the summary."""

from __future__ import annotations

from collections.abc import Sequence

from memory.records import Dossier, Fact, FactKind

_SECTIONS: tuple[tuple[str, tuple[FactKind, ...]], ...] = (
    ("Constraints (always respect these)", ("constraint",)),
    ("Identity", ("identity",)),
    ("Preferences", ("preference",)),
    ("Other things they told you", ("relationship", "event", "task")),
)


def profile_section(facts: Sequence[Fact], dossier: Dossier | None) -> str:
    """Prompt text about the asker. Superseded and retracted facts are never shown as current.

    The caller passes facts already filtered by visibility (FactStore.facts); constraints come
    first so that trimming from the end of this section never drops them.
    """
    current = [f for f in facts if f.current and f.value.strip()]
    blocks: list[str] = []
    for title, kinds in _SECTIONS:
        lines = [f"- {_label(f)}: {f.value}" for f in current if f.kind in kinds]
        if lines:
            blocks.append(f"{title}:\n" + "\n".join(lines))
    if dossier is not None and dossier.summary.strip():
        blocks.append(f"Summary:\n{dossier.summary.strip()}")
    if not blocks:
        return ""
    return "About the person you are talking to:\n" + "\n\n".join(blocks)


def _label(fact: Fact) -> str:
    name = fact.attribute.replace("_", " ")
    return name if fact.subject in ("user", "") else f"{fact.subject} {name}"
