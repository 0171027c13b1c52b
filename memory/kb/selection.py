"""Pure ranking helpers for knowledgebase selection: rank fusion, token costs, budget packing."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

from memory.records import KBEntry

TokenCounter = Callable[[str], int]
RRF_K = 60  # the usual reciprocal-rank constant: damps the gap between the first ranks


def estimate_tokens(text: str) -> int:
    """A deliberately high estimate: about 4 bytes per token is typical, so 3 over-counts safely."""
    return math.ceil(len(text.encode("utf-8")) / 3) + 4


def entry_prompt_text(entry: KBEntry) -> str:
    """What an entry costs in a prompt: its title line and its text."""
    return f"{entry.title}\n{entry.text}" if entry.title else entry.text


def fuse_rankings(rankings: Iterable[Sequence[str]], k: int = RRF_K) -> list[str]:
    """Reciprocal rank fusion of several best-first id lists; best first, ties by first seen."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, entry_id in enumerate(ranking, start=1):
            scores[entry_id] = scores.get(entry_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda entry_id: -scores[entry_id])


def dedupe(entries: Iterable[KBEntry]) -> list[KBEntry]:
    """Keep the first of entries sharing an id or the same content (e.g. copied into two scopes)."""
    seen: set[str] = set()
    kept: list[KBEntry] = []
    for entry in entries:
        marks = {entry.id, f"hash:{entry.content_hash}"} if entry.content_hash else {entry.id}
        if marks & seen:
            continue
        seen |= marks
        kept.append(entry)
    return kept


def pack_within_budget(entries: Iterable[KBEntry], budget: int, count_tokens: TokenCounter) -> list[KBEntry]:
    """Greedy in the given (best-first) order: whole entries only, skipping any that would overflow."""
    packed: list[KBEntry] = []
    used = 0
    for entry in entries:
        cost = count_tokens(entry_prompt_text(entry))
        if used + cost <= budget:
            packed.append(entry)
            used += cost
    return packed
