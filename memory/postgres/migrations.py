"""Versioned schema migrations, run when a pool opens, once across processes.

Each migration is applied in its own transaction with its row in `schema_version`, under a
session-level advisory lock: a second process starting at the same moment waits for the first,
then finds the schema current and applies nothing (a bare `CREATE TABLE IF NOT EXISTS` is not
safe there: two sessions can both pass the check and one fails on the catalog's unique index).
Append new migrations; never edit one that has shipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg

_log = logging.getLogger(__name__)

# An arbitrary constant naming "familiar's schema" among the server's advisory locks.
MIGRATION_LOCK = 0x46414D494C494152


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    version: int
    name: str
    sql: str


_V1_HOT = """
CREATE TABLE history (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    session TEXT NOT NULL,
    role TEXT NOT NULL,
    owner TEXT NOT NULL,
    author_name TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_ts DOUBLE PRECISION NOT NULL,
    scope TEXT NOT NULL,
    platform TEXT NOT NULL,
    room_id TEXT NOT NULL,
    thread_id TEXT,
    persona TEXT NOT NULL DEFAULT ''
);
CREATE INDEX history_session_time ON history (session, created_ts, seq);
CREATE INDEX history_owner ON history (owner);
CREATE TABLE dedup (key TEXT PRIMARY KEY, expires_at DOUBLE PRECISION NOT NULL, owner TEXT);
CREATE INDEX dedup_expiry ON dedup (expires_at);
CREATE TABLE rate_hits (
    key TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX rate_hits_key_at ON rate_hits (key, at);
CREATE INDEX rate_hits_expiry ON rate_hits (expires_at);
CREATE TABLE daily_usage (
    key TEXT NOT NULL,
    day TEXT NOT NULL,
    tokens BIGINT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (key, day)
);
CREATE INDEX daily_usage_updated ON daily_usage (updated_at);
"""

_V1_LEARNED = """
CREATE TABLE facts (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    scope TEXT NOT NULL,
    subject TEXT NOT NULL,
    attribute TEXT NOT NULL,
    value TEXT NOT NULL,
    kind TEXT NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    source_ids TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    superseded_by TEXT,
    superseded_at TEXT
);
CREATE INDEX facts_key ON facts (owner, subject, attribute, valid_from);
CREATE TABLE dossiers (
    owner TEXT NOT NULL,
    scope_class TEXT NOT NULL,
    scope TEXT NOT NULL,
    summary TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    source_ids TEXT NOT NULL,
    PRIMARY KEY (owner, scope_class)
);
CREATE TABLE journal (
    id TEXT PRIMARY KEY,
    persona TEXT NOT NULL,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at TEXT NOT NULL,
    owner TEXT,
    source_ids TEXT NOT NULL,
    words TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED
);
CREATE INDEX journal_persona_time ON journal (persona, created_at);
CREATE INDEX journal_persona_day ON journal (persona, day);
CREATE INDEX journal_words ON journal USING GIN (words);
CREATE TABLE journal_drafts (
    id TEXT PRIMARY KEY,
    persona TEXT NOT NULL,
    session TEXT NOT NULL,
    scope TEXT NOT NULL,
    last_at TEXT NOT NULL,
    owners TEXT NOT NULL,
    lines TEXT NOT NULL,
    source_ids TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    retry_at TEXT
);
"""

_V1_PEOPLE_AND_WORK = """
CREATE TABLE link_codes (code TEXT PRIMARY KEY, identity TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL);
CREATE INDEX link_codes_identity ON link_codes (identity);
CREATE TABLE identity_links (identity TEXT PRIMARY KEY, person TEXT NOT NULL);
CREATE INDEX identity_links_person ON identity_links (person);
CREATE TABLE link_failures (identity TEXT NOT NULL, at DOUBLE PRECISION NOT NULL);
CREATE INDEX link_failures_identity ON link_failures (identity, at);
CREATE TABLE outbox (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    owners TEXT NOT NULL,
    origin_ts DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_ts DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_error TEXT,
    seq BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX outbox_seq ON outbox (seq);
CREATE TABLE dead_letters (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    owners TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    failed_ts DOUBLE PRECISION NOT NULL
);
CREATE TABLE tombstones (
    owner TEXT NOT NULL,
    phrase TEXT,
    at DOUBLE PRECISION NOT NULL,
    applied BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX tombstones_owner ON tombstones (owner, at);
"""

# Long-term memory's item table and its partitioned BM25 index (memory.postgres.lexical); the
# vectors stay in Chroma.
_V2_LONG_TERM = """
CREATE TABLE ltm_items (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    scope TEXT NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    created_at TEXT NOT NULL,
    source_ids TEXT NOT NULL,
    platform TEXT NOT NULL,
    room_id TEXT NOT NULL,
    thread_id TEXT,
    persona TEXT NOT NULL,
    vec BYTEA NOT NULL,
    kind TEXT NOT NULL DEFAULT 'turn',
    context TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ltm_items_owner ON ltm_items (owner, ts);
CREATE INDEX ltm_items_scope ON ltm_items (scope, ts);
CREATE TABLE ltm_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE ltm_lex_entries (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_id TEXT NOT NULL UNIQUE,
    ts DOUBLE PRECISION NOT NULL,
    stems TEXT NOT NULL,
    parts TEXT NOT NULL,
    length INTEGER NOT NULL
);
CREATE TABLE ltm_lex_postings (
    token TEXT NOT NULL,
    rowid BIGINT NOT NULL REFERENCES ltm_lex_entries (rowid) ON DELETE CASCADE,
    tf INTEGER NOT NULL,
    PRIMARY KEY (token, rowid)
);
CREATE INDEX ltm_lex_postings_rowid ON ltm_lex_postings (rowid);
"""

# The knowledgebase's entries, searched with full-text search (titles weigh more, as in FTS5's
# bm25(kb_fts, 2.0, 1.0)); "C" collation so listings sort as SQLite's BINARY order does.
_V3_KNOWLEDGE = """
CREATE TABLE kb_entries (
    id TEXT PRIMARY KEY,
    title TEXT COLLATE "C" NOT NULL,
    text TEXT NOT NULL,
    kind TEXT COLLATE "C" NOT NULL CHECK (kind IN ('constant', 'triggered', 'retrieved')),
    scope TEXT COLLATE "C" NOT NULL,
    keys TEXT NOT NULL DEFAULT '[]',
    priority INTEGER NOT NULL DEFAULT 0,
    source TEXT COLLATE "C" NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}',
    words TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', text), 'B')
    ) STORED
);
CREATE INDEX kb_entries_scope_kind ON kb_entries (scope, kind);
CREATE INDEX kb_entries_source ON kb_entries (scope, source);
CREATE INDEX kb_entries_words ON kb_entries USING GIN (words);
CREATE TABLE kb_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO kb_meta (key, value) VALUES ('generation', 0);
"""

# Tool calls and their results are kept in history beside messages (a record kind).
_V4_HISTORY_KINDS = "ALTER TABLE history ADD COLUMN kind TEXT NOT NULL DEFAULT 'message';"

# Reminders (claimed under a lease), check-in choices and voice-reply choices.
_V5_ASSISTANT = """
CREATE TABLE reminders (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    text TEXT NOT NULL,
    due_ts DOUBLE PRECISION NOT NULL,
    zone TEXT NOT NULL,
    platform TEXT NOT NULL,
    room_id TEXT NOT NULL,
    thread_id TEXT,
    is_dm INTEGER NOT NULL,
    source_id TEXT NOT NULL,
    created_ts DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    not_before_ts DOUBLE PRECISION NOT NULL,
    holder TEXT,
    lease_until_ts DOUBLE PRECISION,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_ts DOUBLE PRECISION
);
CREATE INDEX reminders_due ON reminders (state, not_before_ts);
CREATE INDEX reminders_owner ON reminders (owner, state);
CREATE TABLE checkins (
    owner TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    room_id TEXT NOT NULL,
    at_minute INTEGER NOT NULL,
    enabled INTEGER NOT NULL,
    last_day TEXT
);
CREATE TABLE voice_choices (key TEXT PRIMARY KEY, voice_on INTEGER NOT NULL);
"""

# A long turn's sentence vectors beside its own (memory.longterm.sentences); rows from before
# have none and count with their own vector.
_V6_SENTENCE_VECTORS = """
ALTER TABLE ltm_items ADD COLUMN svec BYTEA;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(version=1, name="stores", sql=_V1_HOT + _V1_LEARNED + _V1_PEOPLE_AND_WORK),
    Migration(version=2, name="long-term memory", sql=_V2_LONG_TERM),
    Migration(version=3, name="knowledgebase", sql=_V3_KNOWLEDGE),
    Migration(version=4, name="history kinds", sql=_V4_HISTORY_KINDS),
    Migration(version=5, name="reminders and check-ins", sql=_V5_ASSISTANT),
    Migration(version=6, name="sentence vectors", sql=_V6_SENTENCE_VECTORS),
)
CURRENT_VERSION = MIGRATIONS[-1].version

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply every migration the database lacks, under the migration lock; returns their versions."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(_VERSION_TABLE)
        current = await schema_version(conn)
        applied = []
        for migration in MIGRATIONS:
            if migration.version > current:
                await _apply(conn, migration)
                applied.append(migration.version)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


async def schema_version(conn: asyncpg.Connection) -> int:
    """The newest version applied (0: none; the table must exist)."""
    found = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    return int(found)


async def _apply(conn: asyncpg.Connection, migration: Migration) -> None:
    async with conn.transaction():
        await conn.execute(migration.sql)
        await conn.execute(
            "INSERT INTO schema_version (version, name) VALUES ($1, $2)", migration.version, migration.name
        )
    _log.info("postgres schema migrated to version %d (%s)", migration.version, migration.name)
