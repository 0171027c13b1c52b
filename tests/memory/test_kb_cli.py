"""`familiar kb …` end to end through Typer's runner, on a real SQLite knowledgebase in a temp dir."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.kb_cli import kb_app, set_kb_opener
from memory.base import KnowledgeBase
from memory.kb import SqliteKnowledgeBase
from memory.sqlite.db import Database
from tests.memory.test_kb_store import HashedBagEmbedder, MemoryVectorIndex

DATA = Path(__file__).resolve().parents[1] / "data" / "kb"
runner = CliRunner(env={"COLUMNS": "240", "NO_COLOR": "1"})


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    vectors = MemoryVectorIndex()  # kept across commands, like a persistent Chroma directory

    @asynccontextmanager
    async def open_kb() -> AsyncIterator[KnowledgeBase]:
        db = Database(tmp_path / "familiar.db")
        await db.open()
        kb = SqliteKnowledgeBase(db, vectors=vectors, embedder=HashedBagEmbedder())
        try:
            yield kb
        finally:
            await kb.close()
            await db.close()

    set_kb_opener(open_kb)
    yield tmp_path
    set_kb_opener(None)


def test_ingest_then_search_list_and_rm(data_dir: Path) -> None:
    docs = data_dir / "docs"
    shutil.copytree(DATA, docs)

    first = runner.invoke(kb_app, ["ingest", str(docs), "--scope", "persona:keeper"])
    again = runner.invoke(kb_app, ["ingest", str(docs), "--scope", "persona:keeper"])

    assert first.exit_code == 1  # one file failed
    assert "5 files: 4 changed, 0 unchanged, 1 failed" in first.stdout
    assert "broken.pdf" in first.stderr
    assert "5 files: 0 changed, 4 unchanged, 1 failed; 0 chunks" in again.stdout

    found = runner.invoke(kb_app, ["search", "where is the paraffin kept", "--scope", "persona:keeper"])
    assert found.exit_code == 0, found.output
    assert "Paraffin is stored" in found.stdout

    listed = runner.invoke(kb_app, ["list", "--scope", "persona:keeper"])
    ids = re.findall(r"kb-[0-9a-f]{20}", listed.stdout)
    assert len(ids) == 10
    fuel = next(line for line in listed.stdout.splitlines() if "Fuel" in line)
    [fuel_id] = re.findall(r"kb-[0-9a-f]{20}", fuel)

    assert runner.invoke(kb_app, ["rm", fuel_id]).exit_code == 0
    assert runner.invoke(kb_app, ["rm", fuel_id]).exit_code == 1
    after = runner.invoke(kb_app, ["search", "where is the paraffin kept", "--scope", "persona:keeper"])
    assert "Paraffin is stored" not in after.stdout


def test_add_triggered_entry_and_search_fires_it(data_dir: Path) -> None:
    added = runner.invoke(
        kb_app,
        [
            "add",
            "Old Tom was a whaler.",
            "--title",
            "Tom",
            "--kind",
            "triggered",
            "--keys",
            "old tom, /whal(e|ing)/",
        ],
    )
    assert added.exit_code == 0, added.output
    assert re.search(r"added kb-[0-9a-f]{20}", added.stdout)

    assert "Old Tom was a whaler." in runner.invoke(kb_app, ["search", "tell me about whaling"]).stdout
    assert "no entries" in runner.invoke(kb_app, ["search", "tell me about fishing"]).stdout
    listed = runner.invoke(kb_app, ["list"]).stdout
    assert "old tom, /whal(e|ing)/" in listed


def test_bad_input_gives_a_clear_error(data_dir: Path) -> None:
    bad_regex = runner.invoke(kb_app, ["add", "x", "--kind", "triggered", "--keys", "/(oops/"])
    bad_scope = runner.invoke(kb_app, ["list", "--scope", "room:x"])
    bad_kind = runner.invoke(kb_app, ["add", "x", "--kind", "sometimes"])

    assert bad_regex.exit_code == 2
    assert "bad regex key '/(oops/'" in bad_regex.stderr
    assert bad_kind.exit_code == 2
    assert bad_scope.exit_code == 2
    assert "bad scope 'room:x'" in bad_scope.stderr


def test_without_a_registered_opener_the_command_explains(tmp_path: Path) -> None:
    set_kb_opener(None)

    result = runner.invoke(kb_app, ["list"])

    assert result.exit_code == 2
    assert "No knowledgebase is configured" in result.stderr
