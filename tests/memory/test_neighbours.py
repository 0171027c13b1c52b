"""The turns beside a strong match rise toward it, never past it, and only if a list found them."""

from __future__ import annotations

from memory.longterm.neighbours import neighbour_bonus

# One conversation, a line every 30 s: q (the question the person asked), a (the persona's answer),
# then small talk; "far" is within the window by position only if the window were wider.
AROUND = [("q", turn, ts) for turn, ts in [("q", 0.0), ("a", 30.0), ("x", 60.0), ("far", 90.0)]]


def test_the_answer_beside_a_matching_question_rises_but_not_past_it() -> None:
    scores = {"q": 0.06, "a": 0.02, "other": 0.05}
    bonus = neighbour_bonus(scores, AROUND, weight=0.2, turns=2)
    assert set(bonus) == {"a"}  # x and far were found by no list; q is the match itself
    assert scores["a"] + bonus["a"] > scores["a"]
    assert scores["a"] + bonus["a"] < scores["q"]


def test_a_neighbour_close_to_the_match_stays_below_it() -> None:
    scores = {"q": 0.06, "a": 0.059}
    bonus = neighbour_bonus(scores, AROUND, weight=0.2, turns=2)
    assert scores["a"] < scores["a"] + bonus["a"] < scores["q"]


def test_a_line_outside_the_window_gains_nothing() -> None:
    scores = {"q": 0.06, "far": 0.01}
    assert neighbour_bonus(scores, AROUND, weight=0.2, turns=2) == {}
    assert "far" in neighbour_bonus(scores, AROUND, weight=0.2, turns=3)
