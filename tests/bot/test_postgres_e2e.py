"""The whole bot on Postgres (DATABASE_URL): a turn answered through the wire-level LLM server,
and what it learned still there after the composition restarts.

The second start uses a new, empty data directory on purpose: the conversation and the fact can
then only have come back from Postgres, never from a SQLite file left behind.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from bot.app import App
from tests.bot.support import (
    Chat,
    Learned,
    Person,
    ScriptedModel,
    dm,
    fact,
    history_text,
    scenario_settings,
    section,
)
from tests.support.llm_server import LLMServer, llm_server

__all__ = ["llm_server"]

pytestmark = pytest.mark.postgres

ALICE = Person(platform="discord", user_id="2001", name="Alice")


def _on_postgres(server: LLMServer, data_dir: Path, url: str) -> App:
    settings = scenario_settings(server, data_dir).model_copy(update={"database_url": url})
    return App(settings)


async def test_a_turn_on_postgres_is_remembered_after_a_restart(
    llm_server: LLMServer, postgres_url: str, tmp_path: Path
) -> None:
    llm_server.set_responder(
        ScriptedModel(Learned(trigger="vegetarian", facts=(fact("diet", "vegetarian", "constraint"),)))
    )
    async with _on_postgres(llm_server, tmp_path / "first", postgres_url) as app:
        chat = Chat(app, llm_server)
        outcome, sink = await chat.send(dm(ALICE, "I'm vegetarian, by the way."))
        assert sink.replies, outcome  # answered through the wire server

    conn = await asyncpg.connect(postgres_url)
    try:
        assert await conn.fetchval("SELECT COUNT(*) FROM history WHERE owner = $1", ALICE.identity) == 2
        assert await conn.fetchval("SELECT COUNT(*) FROM facts WHERE value = 'vegetarian'") == 1
        assert await conn.fetchval("SELECT COUNT(*) FROM outbox") == 0  # every job done, none dropped
        # Both sides of the turn and what was learned from it are long-term memories, lexically
        # indexed, in Postgres too.
        kinds = await conn.fetch(
            "SELECT kind, COUNT(*) AS n FROM ltm_items WHERE owner = $1 GROUP BY kind", ALICE.identity
        )
        assert {r["kind"]: r["n"] for r in kinds} == {"turn": 2, "derived": 1}
        assert await conn.fetchval("SELECT COUNT(*) FROM ltm_lex_entries") == 3
    finally:
        await conn.close()

    async with _on_postgres(llm_server, tmp_path / "second", postgres_url) as app:
        request = await Chat(app, llm_server).ask(dm(ALICE, "recommend me a dinner for tonight"))
        assert "- diet: vegetarian" in section(request.system_text, "What you know about")
        assert "I'm vegetarian, by the way." in history_text(request)
