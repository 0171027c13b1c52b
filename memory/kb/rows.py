"""The knowledgebase's SQLite schema, entry validation/normalisation and row conversion."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, get_args

from memory.kb.triggers import compile_keys
from memory.records import KBEntry, KBKind

SCHEMA_NAME = "kb.v1"
SCHEMA = """
CREATE TABLE IF NOT EXISTS kb_entries (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('constant', 'triggered', 'retrieved')),
    scope TEXT NOT NULL,
    keys TEXT NOT NULL DEFAULT '[]',
    priority INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS kb_entries_scope_kind ON kb_entries (scope, kind);
CREATE INDEX IF NOT EXISTS kb_entries_source ON kb_entries (scope, source);
-- rowid of kb_fts == rowid of kb_entries, so deletes are by integer key.
CREATE VIRTUAL TABLE IF NOT EXISTS kb_fts USING fts5 (
    title, text, tokenize = 'porter unicode61 remove_diacritics 2'
);
-- Bumped by every write so each process (bot, CLI) knows when its trigger cache is stale.
CREATE TABLE IF NOT EXISTS kb_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO kb_meta (key, value) VALUES ('generation', 0);
"""
ENTRY_COLUMNS = "id, title, text, kind, scope, keys, priority, source, content_hash, created_at, extra"
MANUAL_SOURCES = frozenset({"", "manual"})

_KINDS: frozenset[str] = frozenset(get_args(KBKind))
_SCOPE = re.compile(r"global|persona:[^:\s]+|room:[^:\s]+:\S+")


class InvalidEntry(ValueError):
    """An entry that cannot be stored; the message says which and why."""


def validate_scope(scope: str) -> str:
    if not _SCOPE.fullmatch(scope):
        raise InvalidEntry(f"bad scope {scope!r}: use global, persona:<name> or room:<platform>:<room_id>")
    return scope


def normalise(entry: KBEntry, now: datetime) -> KBEntry:
    """Validate an entry and fill in its content hash, id and creation time."""
    if entry.kind not in _KINDS:
        raise InvalidEntry(f"bad kind {entry.kind!r}: use one of {sorted(_KINDS)}")
    validate_scope(entry.scope)
    if not entry.text.strip():
        raise InvalidEntry(f"entry {entry.title or entry.id!r} has no text")
    if entry.kind == "triggered" and not entry.keys:
        raise InvalidEntry(f"triggered entry {entry.title or entry.id!r} needs at least one key")
    keys = tuple(key.strip() for key in entry.keys)
    compile_keys(keys)  # raises InvalidKey (a ValueError) naming a bad regex
    content_hash = _content_hash(entry, keys)
    return replace(
        entry,
        keys=keys,
        content_hash=content_hash,
        id=entry.id or _derived_id(entry.scope, entry.source, content_hash),
        created_at=entry.created_at or now,
    )


def entry_to_row(entry: KBEntry) -> tuple[Any, ...]:
    created = (entry.created_at or datetime.now(UTC)).isoformat()
    return (
        *(entry.id, entry.title, entry.text, entry.kind, entry.scope, json.dumps(list(entry.keys))),
        *(entry.priority, entry.source, entry.content_hash, created, json.dumps(entry.extra)),
    )


def row_to_entry(row: Sequence[Any]) -> KBEntry:
    entry_id, title, text, kind, scope, keys, priority, source, content_hash, created, extra = row
    return KBEntry(
        id=entry_id,
        title=title,
        text=text,
        kind=kind,
        scope=scope,
        keys=tuple(json.loads(keys)),
        priority=int(priority),
        source=source,
        content_hash=content_hash,
        created_at=datetime.fromisoformat(created),
        extra=dict(json.loads(extra)),
    )


def scope_specificity(scope: str) -> int:
    """Room lore beats persona lore beats global lore when priorities tie."""
    return 2 if scope.startswith("room:") else 1 if scope.startswith("persona:") else 0


def _content_hash(entry: KBEntry, keys: tuple[str, ...]) -> str:
    # Kind, keys and priority are part of the content: re-ingesting as another kind is a change.
    payload = json.dumps([entry.kind, entry.title, entry.text, list(keys), entry.priority])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _derived_id(scope: str, source: str, content_hash: str) -> str:
    digest = hashlib.sha256(f"{scope}\x00{source}\x00{content_hash}".encode()).hexdigest()
    return f"kb-{digest[:20]}"
