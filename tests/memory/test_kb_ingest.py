"""Ingesting files and directories: bad files reported and skipped, unchanged content a no-op."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from memory.kb import SqliteKnowledgeBase
from memory.kb.ingest import IngestProgress, ingest_paths
from memory.sqlite.db import Database
from tests.memory.test_kb_store import HashedBagEmbedder, MemoryVectorIndex

DATA = Path(__file__).resolve().parents[1] / "data" / "kb"


@pytest.fixture
async def kb(tmp_path: Path) -> AsyncIterator[SqliteKnowledgeBase]:
    db = Database(tmp_path / "kb.db")
    await db.open()
    store = SqliteKnowledgeBase(db, vectors=MemoryVectorIndex(), embedder=HashedBagEmbedder())
    yield store
    await store.close()
    await db.close()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    target = tmp_path / "docs"
    shutil.copytree(DATA, target)
    return target


async def test_a_corrupt_pdf_is_reported_and_the_rest_ingested(kb: SqliteKnowledgeBase, docs: Path) -> None:
    seen: list[IngestProgress] = []

    report = await ingest_paths(kb, [docs], scope="global", progress=seen.append)

    assert report.files == 5
    assert report.changed_files == 4
    assert [(Path(f.path).name, "not a readable PDF" in f.reason) for f in report.failed] == [
        ("broken.pdf", True)
    ]
    titles = {e.title for e in await kb.list()}
    assert {"Lighthouse Keeper's Handbook > Fog signal", "harbour", "The Drowned Anchor > Regulars"} <= titles
    assert {"tides (page 2)", "tides (page 3)"} <= titles
    assert [(p.done, p.total) for p in seen] == [(n, 5) for n in range(1, 6)]
    assert [p.outcome for p in seen if Path(p.path).name == "broken.pdf"] == ["failed"]


async def test_ingested_documents_are_retrievable(kb: SqliteKnowledgeBase, docs: Path) -> None:
    await ingest_paths(kb, [docs], scope="persona:keeper")

    got = await kb.select(
        query="where is the paraffin kept?", recent_text="", scopes=["persona:keeper"], token_budget=400
    )

    assert got[0].title == "Lighthouse Keeper's Handbook > Lamp > Fuel"
    assert await kb.select(query="paraffin", recent_text="", scopes=["global"], token_budget=400) == []


async def test_html_script_text_never_reaches_the_knowledgebase(kb: SqliteKnowledgeBase, docs: Path) -> None:
    await ingest_paths(kb, [docs / "tavern.html"], scope="global")

    stored = " ".join(e.title + " " + e.text for e in await kb.list())
    assert "smoked mackerel" in stored
    assert "tracking-pixel-code" not in stored
    assert "inline script" not in stored


async def test_re_ingesting_unchanged_files_is_a_no_op(kb: SqliteKnowledgeBase, docs: Path) -> None:
    first = await ingest_paths(kb, [docs], scope="global")
    before = await kb.list()

    again = await ingest_paths(kb, [docs], scope="global")

    assert first.chunks_changed == len(before) > 0
    assert (again.changed_files, again.unchanged_files, again.chunks_changed) == (0, 4, 0)
    assert await kb.list() == before


async def test_an_edited_file_replaces_only_its_own_chunks(kb: SqliteKnowledgeBase, docs: Path) -> None:
    await ingest_paths(kb, [docs], scope="global")
    guide = docs / "lighthouse.md"
    guide.write_text(guide.read_text().replace("twice every minute", "three times a minute"))

    report = await ingest_paths(kb, [docs], scope="global")

    assert (report.changed_files, report.unchanged_files, report.chunks_changed) == (1, 3, 2)
    texts = " ".join(e.text for e in await kb.list())
    assert "three times a minute" in texts
    assert "twice every minute" not in texts


async def test_missing_paths_and_unreadable_text_are_reported(
    kb: SqliteKnowledgeBase, tmp_path: Path
) -> None:
    bad = tmp_path / "binary.txt"
    bad.write_bytes(b"\x00\x00\x00")
    good = tmp_path / "good.md"
    good.write_text("# Good\n\nFine content.")

    report = await ingest_paths(kb, [bad, good, tmp_path / "nope.md"], scope="global")

    assert sorted(Path(f.path).name for f in report.failed) == ["binary.txt", "nope.md"]
    assert [e.text for e in await kb.list()] == ["Fine content."]


async def test_hidden_and_unsupported_files_in_directories_are_skipped(
    kb: SqliteKnowledgeBase, tmp_path: Path
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.md").write_text("secret internals")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "lore.txt").write_text("Public lore.")

    report = await ingest_paths(kb, [tmp_path], scope="global")

    assert (report.files, report.failed) == (1, ())
    assert [e.text for e in await kb.list()] == ["Public lore."]


async def test_ingest_rejects_bad_scope_and_triggered_kind(kb: SqliteKnowledgeBase, docs: Path) -> None:
    with pytest.raises(ValueError, match="bad scope"):
        await ingest_paths(kb, [docs], scope="everyone")
    with pytest.raises(ValueError, match="no keys"):
        await ingest_paths(kb, [docs], scope="global", kind="triggered")
