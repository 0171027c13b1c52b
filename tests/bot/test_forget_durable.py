"""Forget means forgotten, even with post-turn work still queued, and after a crash.

Racing: `/forget` while the person's turns still wait for their (slow) learning: nothing of
them is written back afterwards. After a kill -9: the restart resumes the dead process's work
and finds index entries a cut-short add left without their item row (seeded here exactly as a
kill between Chroma and the row leaves them); `/forget` then leaves nothing in any index.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from memory.chroma.index import ChromaIndex
from memory.embeddings.onnx import DEFAULT_DIM, DEFAULT_MODEL_ID
from memory.lexical import LexicalDoc, LexicalIndex, partition_token
from memory.longterm import partitions
from memory.sqlite.db import Database
from persona.types import TurnOutcome
from tests.bot.crash_support import ChatProcess, message, slow_learning_responder
from tests.bot.support import Chat, Person, RecordingSink, dm, indexed_memories, open_app
from tests.support.llm_server import LLMServer, llm_server

__all__ = ["llm_server"]

ALICE = Person(platform="discord", user_id="111", name="Alice")
BOB = Person(platform="discord", user_id="222", name="Bob")
SECRET = "my alarm code is 1531x84"


def _rows(data_dir: Path, sql: str) -> list[str]:
    with contextlib.closing(sqlite3.connect(data_dir / "familiar.db")) as db:
        return [str(row[0]) for row in db.execute(sql)]


async def test_forget_while_turns_wait_for_learning_writes_nothing_back(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    llm_server.set_responder(slow_learning_responder(1.0))
    async with open_app(llm_server, tmp_path) as app:
        chat = Chat(app, llm_server)
        await chat.say(dm(BOB, message(900)))
        for n in range(4):  # answered and stored; learning still queued behind the slow call
            outcome = await chat.engine.submit(dm(ALICE, message(n)), RecordingSink())
            assert outcome is TurnOutcome.ANSWERED

        done = await chat.command("forget", dm(ALICE, ""))
        assert done.text.startswith("Done")
        await chat.settle()

        exported = await chat.export(dm(ALICE, ""))
        for kind in ("history", "memories", "facts", "journal"):
            assert exported[kind] == [], (kind, exported[kind])
        assert exported["dossier"] is None
        assert "w900x" in str(await chat.export(dm(BOB, "")))
    documents = await indexed_memories(tmp_path)
    assert not any("my code is w" in d and "w900x" not in d for d in documents), documents
    assert _rows(tmp_path, f"SELECT owners FROM outbox WHERE owners LIKE '%{ALICE.user_id}%'") == []


async def _seed_orphans(data_dir: Path, owner: str) -> None:
    """Vectors and a lexical entry with no item row: what a kill between `add`'s writes leaves."""
    vectors = ChromaIndex(model_id=DEFAULT_MODEL_ID, dim=DEFAULT_DIM, path=data_dir / "chroma")
    await vectors.start()
    try:
        await vectors.upsert(
            partitions.owner_collection(owner, dm=True),
            ids=["terminal:ghost"],
            embeddings=[[1.0] + [0.0] * (DEFAULT_DIM - 1)],
            metadatas=[{"owner": owner, "scope": "dm", "ts": 0.0}],
        )
    finally:
        await vectors.close()
    db = Database(data_dir / "familiar.db")
    await db.open()
    try:
        lexical = LexicalIndex(db, name="ltm_lex")
        await lexical.start()
        at = datetime.now(UTC).timestamp()
        await lexical.add(
            [
                LexicalDoc(
                    id="terminal:ghost", text=SECRET, partitions=(partition_token("d", owner),), timestamp=at
                )
            ]
        )
    finally:
        await db.close()


async def test_forget_after_a_kill_leaves_nothing_in_any_index(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(slow_learning_responder())
    data = tmp_path / "data"
    env = {"FAMILIAR_TERMINAL__USER_ID": "alice"}
    chat = ChatProcess(llm_server, data, extra_env=env)
    await chat.start()
    await chat.send(SECRET, message(1))
    await chat.kill()  # learning (2 s) was still running
    await _seed_orphans(data, "terminal:alice")

    again = ChatProcess(llm_server, data, extra_env=env)
    await again.start()
    said = await again.send("/forget")
    assert said[0].startswith("Done"), said
    assert await again.stop(sig=0) == 0, again.stderr.decode(errors="replace")[-2000:]

    for table, column in (
        ("history", "text"),
        ("ltm_items", "text"),
        ("facts", "value"),
        ("dossiers", "owner"),
    ):
        assert _rows(data, f"SELECT {column} FROM {table}") == [], table
    assert _rows(data, "SELECT doc_id FROM ltm_lex_entries") == []
    assert _rows(data, "SELECT key FROM outbox") == []
    assert _rows(data, "SELECT id FROM journal_drafts") == []
    assert await indexed_memories(data) == []
