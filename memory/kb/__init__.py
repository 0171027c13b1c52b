"""The knowledgebase: lorebook-style entries that persona authors and admins load.

Kinds (memory.records.KBKind):
- constant: always offered to the prompt, highest priority first;
- triggered: offered when one of its keys occurs in the recent messages (keywords match
  case-insensitively on word boundaries; "/regex/" keys are regexes, validated on add);
- retrieved: offered when relevant to the query, by hybrid search (FTS5/BM25 plus dense vectors
  fused by reciprocal rank, each side with a relevance floor; FTS5 only without a vector index).

Scopes: "global", "persona:<name>", "room:<platform>:<room_id>"; a turn passes the scopes it
may see, and nothing outside them is ever selected. Selection fills a token budget with whole
entries, best first (constant, then triggered, then retrieved).

Documents are chunked along their headings (chunking), ingested without blocking the loop
(ingest), and re-ingesting unchanged content is a no-op (content hashes per source).
"""

from __future__ import annotations

from memory.kb.chunking import Chunk, UnreadableDocument
from memory.kb.ingest import FileFailure, IngestProgress, IngestReport, ingest_paths
from memory.kb.rows import InvalidEntry
from memory.kb.store import RetrievalSettings, SqliteKnowledgeBase
from memory.kb.triggers import InvalidKey

__all__ = [
    "Chunk",
    "FileFailure",
    "IngestProgress",
    "IngestReport",
    "InvalidEntry",
    "InvalidKey",
    "RetrievalSettings",
    "SqliteKnowledgeBase",
    "UnreadableDocument",
    "ingest_paths",
]
