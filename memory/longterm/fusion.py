"""Rank fusion, recency and collapsing what says one thing twice: pure functions over ranked lists."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from memory.records import MemoryHit, MemoryItem

RRF_K = 60.0
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SHARED = re.compile(r"\[shares? an? [^\]]*\]", re.IGNORECASE)  # an attachment's caption
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


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


def only_asks(text: str) -> bool:
    """Whether a line only asks ("Wow! What kind of jobs are you thinking of?"): every sentence of
    three words or more is a question, so the line holds nothing to remember by itself."""
    sentences = [s.strip() for s in _SENTENCE.findall(_SHARED.sub("", text))]
    long = [s for s in sentences if len(s.split()) >= 3]
    return bool(long) and all(s.endswith("?") for s in long)


@dataclass(frozen=True, slots=True, kw_only=True)
class Collapse:
    """What counts as saying one thing twice (see collapse_near_duplicates)."""

    threshold: float = 0.85
    absorb_derived: bool = True
    absorb_siblings: bool = False
    same_meaning: float = 1.0  # cosine; 1.0 turns the check off


@dataclass(slots=True)
class _Kept:
    item: MemoryItem
    score: float
    words: frozenset[str]


def _shingles(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def collapse_near_duplicates(
    ranked: Sequence[tuple[MemoryItem, float]],
    *,
    limit: int,
    rules: Collapse = Collapse(),
    vectors: Mapping[str, npt.NDArray[np.float32]] | None = None,
) -> list[MemoryHit]:
    """The best `limit` hits, each saying something the better ones did not.

    Absorbed into a better item, which inherits its source ids (provenance is not lost, and the
    better item says what it said): one whose word set overlaps by `threshold` or more (Jaccard);
    with `absorb_derived`, a derived statement and the turn it came from; with `absorb_siblings`,
    two derived statements learned from one line. Dropped without inheriting anything: an item
    whose vector is within `same_meaning` of a better one's (a paraphrase takes no second place,
    but it may differ in a detail, so it is not counted as shown).
    """
    kept: list[_Kept] = []
    for item, score in ranked:
        words = _shingles(item.text)
        for entry in kept:
            union = len(words | entry.words)
            if (union and len(words & entry.words) / union >= rules.threshold) or (
                rules.absorb_derived and _restates(item, entry.item, siblings=rules.absorb_siblings)
            ):
                _inherit(entry, item)
                break
            if vectors is not None and _same_meaning(item, entry.item, vectors, rules.same_meaning):
                break
        else:
            if len(kept) == limit:
                break
            kept.append(_Kept(item, score, words))
    return [MemoryHit(item=entry.item, score=entry.score) for entry in kept]


def _inherit(entry: _Kept, absorbed: MemoryItem) -> None:
    sources = tuple(dict.fromkeys(entry.item.source_ids + absorbed.source_ids))
    if sources != entry.item.source_ids:
        entry.item = replace(entry.item, source_ids=sources)


def _same_meaning(
    item: MemoryItem, other: MemoryItem, vectors: Mapping[str, npt.NDArray[np.float32]], threshold: float
) -> bool:
    a, b = vectors.get(item.id), vectors.get(other.id)
    return a is not None and b is not None and float(a @ b) >= threshold


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
