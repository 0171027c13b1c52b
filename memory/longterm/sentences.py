"""A long turn's sentences, each embedded on its own beside the turn's own vector (pure functions).

One mean-pooled vector of a five-sentence turn is mostly about the other four sentences: "Work
is hectic and the kids are loud. Oh, and I booked the flights to Lisbon. Anyway, how are you?"
is far from "where am I flying?" as a whole and close to it in its middle sentence. So a turn of
two or more sentences also keeps one vector per sentence, and search ranks it by its best one
in a second dense vote. The local model pools each sentence's tokens from the run that embeds
the whole turn (memory.embeddings.base.PartEmbedder), so they cost no model run of their own.
LoCoMo dev R@10 (own / persona), against the item's own vector alone: tuned part +0.9 / +0.7,
the part kept aside +1.1 / +0.7; each sentence embedded on its own gained +1.2 / +1.6 and
+1.5 / +1.0 but cut ingest from 291 to 194 items/s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

# A sentence ends at . ! or ? followed by space and what starts the next one (a capital, a quote,
# or a bracketed attachment note such as "[shares an image: ...]"). Abbreviations ("Dr. Smith")
# split too: a stray short piece only adds one more vector, it hides nothing.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'\[])")
# "Wow!" and "Thanks, Mel!" say nothing a question would find them by: fewer words than this get
# no vector of their own (LoCoMo dev, tuned part: R@10 unchanged, 22% fewer sentence vectors).
MIN_WORDS = 4
# A pasted essay would otherwise store dozens of vectors: the rest of it is kept as one piece.
MAX_SENTENCES = 8


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where in `text` the sentences worth their own vectors are: [] for a one-sentence turn."""
    spans: list[tuple[int, int]] = []
    start = 0
    for boundary in [*_BOUNDARY.finditer(text), None]:
        end = len(text) if boundary is None else boundary.start()
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
        if boundary is not None:
            start = boundary.end()
    if len(spans) < 2:
        return []
    spans = [(a, b) for a, b in spans if len(text[a:b].split()) >= MIN_WORDS]
    if len(spans) > MAX_SENTENCES:
        spans = [*spans[: MAX_SENTENCES - 1], (spans[MAX_SENTENCES - 1][0], spans[-1][1])]
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of a turn worth their own vectors: [] for a one-sentence turn."""
    return [text[a:b] for a, b in sentence_spans(text)]


def pack_sentence_vectors(vectors: Sequence[Sequence[float]]) -> bytes | None:
    """float16, row after row, as the item's own vector is kept; None when there are none."""
    if not vectors:
        return None
    return np.asarray(vectors, dtype=np.float16).tobytes()


def best_sentence_similarity(
    blobs: Sequence[bytes | None],
    own: npt.NDArray[np.float32],
    embedding: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """Per item, the cosine of its best sentence to the query; an item without sentence vectors
    (one sentence, or stored before they were kept) counts with its own, `own` (its cosines)."""
    best = own.copy()
    dim = embedding.shape[0]
    rows = [(i, blob) for i, blob in enumerate(blobs) if blob]
    if not rows:
        return best
    matrix = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float16).reshape(-1, dim)
    owners = np.repeat(
        np.fromiter((i for i, _ in rows), dtype=np.int64, count=len(rows)),
        [len(blob) // (2 * dim) for _, blob in rows],
    )
    similarity = matrix.astype(np.float32) @ embedding
    first = np.full(len(blobs), -np.inf, dtype=np.float32)
    np.maximum.at(first, owners, similarity)
    has = np.isfinite(first)
    best[has] = first[has]
    return best
