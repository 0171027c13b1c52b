"""Exact cosine ranking over a small visible set's stored vectors (no HNSW index to load)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from memory.longterm.rows import unpack_vectors
from memory.longterm.sentences import best_sentence_similarity


@dataclass(frozen=True, slots=True, kw_only=True)
class Rows:
    ids: list[str]
    ts: npt.NDArray[np.float64]
    blobs: list[bytes]
    sentence_blobs: list[bytes | None] = field(default_factory=list)  # per row; [] when not read


@dataclass(frozen=True, slots=True, kw_only=True)
class Ranked:
    """The dense lists of one query: by each item's own vector, by its best sentence, and by its
    own vector among the items inside the query's interval (empty without one)."""

    anywhere: list[str]
    best_sentence: list[str]
    inside: list[str]


def exact_rankings(
    rows: Rows, embedding: Sequence[float], n: int, bounds: tuple[float, float] | None
) -> Ranked:
    if not rows.ids:
        return Ranked(anywhere=[], best_sentence=[], inside=[])
    query = np.asarray(embedding, dtype=np.float32)
    similarity = unpack_vectors(rows.blobs, len(embedding)) @ query
    order = np.argsort(-similarity, kind="stable")
    inside: list[str] = []
    if bounds is not None:
        within = (rows.ts >= bounds[0]) & (rows.ts < bounds[1])
        inside = [rows.ids[int(i)] for i in order[within[order]][:n]]
    best_sentence: list[str] = []
    if rows.sentence_blobs:
        by_sentence = best_sentence_similarity(rows.sentence_blobs, similarity, query)
        best_sentence = [rows.ids[int(i)] for i in np.argsort(-by_sentence, kind="stable")[:n]]
    return Ranked(anywhere=[rows.ids[int(i)] for i in order[:n]], best_sentence=best_sentence, inside=inside)
