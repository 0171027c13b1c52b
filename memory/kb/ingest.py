"""Ingest files and directories into a knowledgebase without blocking the event loop.

Reading and parsing run in worker threads (`asyncio.to_thread`); the store's own writes are
async. A file that cannot be read or parsed is reported with its reason and skipped; the rest
are still ingested. Re-ingesting unchanged content is a no-op (the store compares content hashes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from memory.base import KnowledgeBase
from memory.kb.chunking import DEFAULT_MAX_CHARS, SUPPORTED_SUFFIXES, UnreadableDocument, chunk_document
from memory.kb.rows import validate_scope
from memory.records import KBEntry, KBKind

_log = logging.getLogger(__name__)

Outcome = Literal["changed", "unchanged", "failed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileFailure:
    path: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestProgress:
    """Sent after each file: how far along, which file, and what happened to it."""

    done: int
    total: int
    path: str
    outcome: Outcome


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestReport:
    files: int  # files attempted
    changed_files: int
    unchanged_files: int
    chunks_changed: int  # entries added, replaced or retired
    failed: tuple[FileFailure, ...] = ()


ProgressCallback = Callable[[IngestProgress], None]


async def ingest_paths(
    kb: KnowledgeBase,
    paths: Sequence[Path | str],
    *,
    scope: str,
    kind: KBKind = "retrieved",
    progress: ProgressCallback | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> IngestReport:
    """Ingest every supported file under `paths` (directories are walked, hidden files skipped)."""
    if kind == "triggered":
        raise ValueError("documents cannot be ingested as triggered entries: they have no keys")
    validate_scope(scope)
    files, missing = await asyncio.to_thread(collect_files, [Path(p) for p in paths])
    failures = [FileFailure(path=str(p), reason="no such file or directory") for p in missing]
    changed_files = unchanged_files = chunks_changed = 0
    for done, path in enumerate(files, start=1):
        result = await _ingest_file(kb, path, scope=scope, kind=kind, max_chars=max_chars)
        outcome: Outcome
        if isinstance(result, FileFailure):
            failures.append(result)
            outcome = "failed"
        elif result:
            changed_files, chunks_changed, outcome = changed_files + 1, chunks_changed + result, "changed"
        else:
            unchanged_files, outcome = unchanged_files + 1, "unchanged"
        if progress is not None:
            progress(IngestProgress(done=done, total=len(files), path=str(path), outcome=outcome))
    return IngestReport(
        files=len(files) + len(missing),
        changed_files=changed_files,
        unchanged_files=unchanged_files,
        chunks_changed=chunks_changed,
        failed=tuple(failures),
    )


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Files to ingest (explicit files as given, supported files under directories) and missing paths."""
    files: list[Path] = []
    missing: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(_walk(path))
        elif path.is_file():
            files.append(path)
        else:
            missing.append(path)
    return list(dict.fromkeys(p.resolve() for p in files)), missing


async def _ingest_file(
    kb: KnowledgeBase, path: Path, *, scope: str, kind: KBKind, max_chars: int
) -> int | FileFailure:
    """How many entries changed for this file, or why it was skipped."""
    try:
        data = await asyncio.to_thread(path.read_bytes)
        chunks = await asyncio.to_thread(chunk_document, path.name, data, max_chars=max_chars)
    except (OSError, UnreadableDocument) as exc:
        _log.warning("kb: skipping %s: %s", path, exc)
        return FileFailure(path=str(path), reason=str(exc) or type(exc).__name__)
    if not chunks:
        return FileFailure(path=str(path), reason="no text found")
    entries = [
        KBEntry(id="", title=chunk.title, text=chunk.text, kind=kind, scope=scope, source=str(path))
        for chunk in chunks
    ]
    return await kb.add(entries)


def _walk(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).parts
        if any(part.startswith(".") for part in relative):
            continue
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            found.append(path)
    return found
