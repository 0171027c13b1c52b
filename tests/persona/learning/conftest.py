"""Fixtures for learning tests: real SQLite stores in tmp_path and a scripted provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from memory.journal_files import JournalFiles
from memory.sqlite.db import Database
from memory.sqlite.facts import SqliteFactStore
from memory.sqlite.journal import SqliteJournalStore
from tests.persona.learning.support import Clock, ScriptedProvider


@pytest.fixture
async def fact_store(db: Database) -> AsyncIterator[SqliteFactStore]:
    store = SqliteFactStore(db)
    await store.start()
    yield store
    await store.close()


@pytest.fixture
async def journal_store(db: Database) -> AsyncIterator[SqliteJournalStore]:
    store = SqliteJournalStore(db)
    await store.start()
    yield store
    await store.close()


@pytest.fixture
def journal_files(tmp_path: Path) -> JournalFiles:
    return JournalFiles(tmp_path / "data")


@pytest.fixture
def provider() -> ScriptedProvider:
    return ScriptedProvider()


@pytest.fixture
def clock() -> Clock:
    return Clock()
