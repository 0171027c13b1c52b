"""The turns next to a strong match: in a conversation the answer is often the line beside the
one that matches the question ("what classes do they offer?" / "yoga, kickboxing...")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence


def neighbour_bonus(
    scores: dict[str, float],
    around: Sequence[tuple[str, str, float]],
    *,
    weight: float,
    turns: int,
) -> dict[str, float]:
    """Per candidate in `scores`, `weight` times the fused score of the best strong match it sits
    within `turns` lines of, short of that match: a neighbour rises toward the line that matched,
    it does not reach it. `around` holds (match id, turn id, turn ts) for every turn
    near each match, the match itself included; a turn no ranked list found gets nothing."""
    near: defaultdict[str, list[tuple[float, str]]] = defaultdict(list)
    for match, turn, ts in around:
        near[match].append((ts, turn))
    bonus: dict[str, float] = {}
    for match, lines in near.items():
        lines.sort()
        at = next((i for i, (_, turn) in enumerate(lines) if turn == match), None)
        if at is None:
            continue
        for _, turn in lines[max(at - turns, 0) : at + turns + 1]:
            if turn != match and turn in scores:
                # at most nine tenths of the gap: a tie with the match would hand the order to
                # the recency bonus, and the line that matched is the better guess
                lift = min(weight * scores[match], 0.9 * (scores[match] - scores[turn]))
                if lift > bonus.get(turn, 0.0):
                    bonus[turn] = lift
    return bonus
