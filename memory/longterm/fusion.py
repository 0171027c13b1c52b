"""Rank fusion, recency and near-duplicate collapsing: pure functions over ranked id lists."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from memory.records import MemoryItem

RRF_K = 60.0
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def reciprocal_rank_fusion(
    rankings: Sequence[tuple[float, Sequence[str]]], *, k: float = RRF_K
) -> dict[str, float]:
    """Sum of weight / (k + rank) over every ranked list an id appears in (rank from 1)."""
    scores: dict[str, float] = {}
    for weight, ids in rankings:
        for rank, item_id in enumerate(ids, start=1):
            scores[item_id] = scores.get(item_id, 0.0) + weight / (k + rank)
    return scores


def recency_bonus(age_days: float, *, weight: float, half_life_days: float, k: float = RRF_K) -> float:
    """A small bonus, on the scale of one first-place RRF vote, halving every `half_life_days`."""
    decay: float = 0.5 ** (max(age_days, 0.0) / half_life_days)
    return weight / (k + 1.0) * decay


def _shingles(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def collapse_near_duplicates(
    ranked: Sequence[tuple[MemoryItem, float]],
    *,
    limit: int,
    threshold: float = 0.85,
    absorb_derived: bool = True,
    absorb_siblings: bool = False,
) -> list[tuple[MemoryItem, float]]:
    """The best `limit` items, skipping any whose word set overlaps a better one's by `threshold`
    (Jaccard) or more, and (with `absorb_derived`) a derived statement and the turn it came from
    after the first of them: they say one thing twice; with `absorb_siblings`, also two derived
    statements learned from the same turn. The kept item inherits the source ids of
    those it absorbed, so provenance is not lost.
    """
    kept: list[tuple[MemoryItem, float, frozenset[str]]] = []
    for item, score in ranked:
        words = _shingles(item.text)
        for index, (other, other_score, other_words) in enumerate(kept):
            union = len(words | other_words)
            same = union and len(words & other_words) / union >= threshold
            if same or (absorb_derived and _restates(item, other, siblings=absorb_siblings)):
                sources = tuple(dict.fromkeys(other.source_ids + item.source_ids))
                if sources != other.source_ids:
                    kept[index] = (replace(other, source_ids=sources), other_score, other_words)
                break
        else:
            if len(kept) == limit:
                break
            kept.append((item, score, words))
    return [(item, score) for item, score, _ in kept]


def _restates(item: MemoryItem, other: MemoryItem, *, siblings: bool = False) -> bool:
    """Whether one of the two is a statement derived from the other turn (its first source id is
    the turn's own event), or (`siblings`) both are statements learned from one same line."""
    if item.kind == other.kind:
        return siblings and item.kind == "derived" and _same_origin(item, other)
    derived, turn = (item, other) if item.kind == "derived" else (other, item)
    return bool(turn.source_ids) and turn.source_ids[0] in derived.source_ids


def _same_origin(item: MemoryItem, other: MemoryItem) -> bool:
    """One side's two statements learned from one line: same role, same first source (the line
    each was learned from). A fact and what the persona recommended in its reply stay apart."""
    return item.role == other.role and bool(item.source_ids) and item.source_ids[:1] == other.source_ids[:1]
