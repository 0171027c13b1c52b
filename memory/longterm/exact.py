"""Exact cosine ranking over a small visible set's stored vectors (no HNSW index to load)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from memory.longterm.rows import unpack_vectors


@dataclass(frozen=True, slots=True, kw_only=True)
class Rows:
    ids: list[str]
    ts: npt.NDArray[np.float64]
    blobs: list[bytes]


def exact_rankings(
    rows: Rows, embedding: Sequence[float], n: int, bounds: tuple[float, float] | None
) -> list[list[str]]:
    """The dense list over every visible row, plus the one inside `bounds` when there are bounds."""
    if not rows.ids:
        return [[], []] if bounds is not None else [[]]
    matrix = unpack_vectors(rows.blobs, len(embedding))
    similarity = matrix @ np.asarray(embedding, dtype=np.float32)
    order = np.argsort(-similarity, kind="stable")
    lists = [[rows.ids[int(i)] for i in order[:n]]]
    if bounds is not None:
        inside = (rows.ts >= bounds[0]) & (rows.ts < bounds[1])
        lists.append([rows.ids[int(i)] for i in order[inside[order]][:n]])
    return lists
