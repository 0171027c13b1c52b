"""A turn the person saw answered survives kill -9 of `familiar chat`.

Each round starts the real process, says three messages, and stops it right after the last
reply, while its learning call (2 s, as a real model's) is still running; a last clean start
reads no input and finishes what the outbox holds. Every acknowledged turn (its reply was
printed) must then be in history, in long-term memory, and must have taught its fact.
"""

from __future__ import annotations

import signal
from pathlib import Path

from tests.bot.crash_support import crash_loop, slow_learning_responder
from tests.support.llm_server import LLMServer, llm_server

__all__ = ["llm_server"]


async def test_no_acknowledged_turn_is_lost_to_kill_9(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(slow_learning_responder())

    run = await crash_loop(llm_server, tmp_path / "data", how=signal.SIGKILL, rounds=2, per_round=3)

    assert run.acknowledged == 6
    assert run.missing == [], run.by_store
