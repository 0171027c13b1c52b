"""A clean stop (SIGTERM) whose drain times out behind slow learning loses no acknowledged turn:
what the drain did not finish stays in the outbox and runs after the next start.
"""

from __future__ import annotations

import signal
from pathlib import Path

from tests.bot.crash_support import crash_loop, slow_learning_responder
from tests.support.llm_server import LLMServer, llm_server

__all__ = ["llm_server"]


async def test_no_acknowledged_turn_is_lost_to_sigterm_that_cuts_learning_short(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(slow_learning_responder())
    # A stop that drains for one second leaves most of the burst's learning undone.
    short_drain = {"FAMILIAR_ENGINE__JOBS__DRAIN_TIMEOUT_S": "1"}

    run = await crash_loop(
        llm_server, tmp_path / "data", how=signal.SIGTERM, rounds=2, per_round=3, burst=True, env=short_drain
    )

    assert run.acknowledged == 6
    assert run.missing == [], run.by_store
