"""`familiar memory move`: a single-process install moved into Postgres and Redis keeps everything
it remembered, and the bot on the shared engines answers with it.

The first install runs on its own data directory (SQLite, embedded Chroma), as `make run` does;
the second on a new, empty data directory with DATABASE_URL and REDIS_URL, so whatever it knows
can only have come through the move.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis
from typer.testing import CliRunner

from bot.app import App
from bot.cli import app as cli
from bot.config import Settings
from bot.move import move
from memory.records import DM_SCOPE, KBEntry, MemoryQuery, Visibility
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

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ALICE = Person(platform="discord", user_id="2001", name="Alice")
BOB = Person(platform="discord", user_id="2002", name="Bob")


def _shared(server: LLMServer, data_dir: Path, postgres_url: str, redis_url: str) -> Settings:
    return scenario_settings(server, data_dir).model_copy(
        update={"database_url": postgres_url, "redis_url": redis_url}
    )


async def _fill_single_process(server: LLMServer, data_dir: Path) -> None:
    async with App(scenario_settings(server, data_dir)) as app:
        chat = Chat(app, server)
        await chat.say(dm(ALICE, "I'm vegetarian, by the way."), dm(ALICE, "My sister Rowan keeps bees."))
        await chat.say(dm(BOB, "I collect old maps of harbours."))
        await chat.settle()  # learning done: facts and long-term memories written
        assert app.opened is not None
        lore = KBEntry(id="", title="Opening hours", text="The guild hall opens at nine.", kind="retrieved",
                       scope="global", source="manual")  # fmt: skip
        await app.opened.kb.add([lore])


async def _moved(settings: Settings, source: Path) -> dict[str, int]:
    return (await move(settings, source, lambda part, count: None)).counts


async def test_a_moved_install_answers_from_what_it_remembered_and_a_second_move_adds_nothing(
    llm_server: LLMServer, postgres_url: str, redis_client: Redis, redis_server: str, tmp_path: Path
) -> None:
    llm_server.set_responder(
        ScriptedModel(Learned(trigger="vegetarian", facts=(fact("diet", "vegetarian", "constraint"),)))
    )
    await _fill_single_process(llm_server, tmp_path / "one")
    target = _shared(llm_server, tmp_path / "two", postgres_url, redis_server)

    first = await _moved(target, tmp_path / "one")
    assert first["history"] == 6  # three lines and three replies
    assert first["facts"] == 1
    assert first["memories"] >= 6  # both sides of each turn, and what was learned
    assert first["knowledgebase"] == 1
    again = await _moved(target, tmp_path / "one")  # an interrupted move is simply run again
    assert again["memories"] == first["memories"]

    conn = await asyncpg.connect(postgres_url)
    try:
        assert await conn.fetchval("SELECT COUNT(*) FROM facts WHERE value = 'vegetarian'") == 1
        assert await conn.fetchval("SELECT COUNT(*) FROM ltm_items") == first["memories"]  # none twice
        assert await conn.fetchval("SELECT COUNT(*) FROM ltm_lex_entries") == first["memories"]
    finally:
        await conn.close()

    async with App(target) as app:
        chat = Chat(app, llm_server)
        request = await chat.ask(dm(ALICE, "recommend me a dinner for tonight"))
        assert "- diet: vegetarian" in section(request.system_text, "What you know about")
        earlier = history_text(request)
        assert earlier.count("Reply to: My sister Rowan keeps bees.") == 1  # moved once, into Redis
        assert "harbours" not in earlier  # and still only Alice's
        lore = await chat.ask(dm(ALICE, "when does the guild hall open?"))
        assert "opens at nine" in section(lore.system_text, "Reference knowledge")
        assert app.opened is not None
        asked = MemoryQuery(
            text="who keeps bees?", now=datetime.now(UTC),
            visibility=Visibility(owners=frozenset({ALICE.identity}), scope=DM_SCOPE),
        )  # fmt: skip
        found = [hit.item.text for hit in await app.opened.stores.memory.search(asked)]
        assert any("Rowan keeps bees" in text for text in found)
        assert not any("harbours" in text for text in found)  # Bob's memories stay Bob's


def test_the_command_says_what_to_set_when_no_engine_is_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "one").mkdir()
    monkeypatch.chdir(tmp_path)  # no .env of the checkout is read
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("FAMILIAR_DATA_DIR", str(tmp_path / "two"))
    result = CliRunner().invoke(cli, ["memory", "move", "--from", str(tmp_path / "one")])
    assert result.exit_code == 2
    assert "DATABASE_URL" in result.output
