"""The `db` fixture: one open SQLite Database per test, in its tmp_path (registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from memory.sqlite.db import Database

DB_FILE = "familiar.db"  # a test that opens the same file again ("another process") uses this name


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / DB_FILE)
    await database.open()
    yield database
    await database.close()
