"""Timings of a turn, for whoever measures them (the web server's Prometheus metrics).

The engine reports three stages through one small protocol, so measuring needs no knowledge of
the engine's insides and the engine none of Prometheus: gathering the context, the first token
of the reply (from the start of the turn, what a person waits before text appears), and the
whole turn. Counters (turn outcomes, provider errors, degraded sources) are already in the
engine's `stats` and are read from there.
"""

from __future__ import annotations

from typing import Literal, Protocol

Stage = Literal["gather", "first_token", "turn"]


class TurnObserver(Protocol):
    def timing(self, stage: Stage, seconds: float) -> None:
        """One measured stage of one turn. Must not block or raise."""
        ...


class NoObserver:
    """The default: nothing measured."""

    def timing(self, stage: Stage, seconds: float) -> None:
        return None
