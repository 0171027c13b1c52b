"""The knowledgebase's Postgres statements: entry writes and full-text retrieval.

memory.kb.store keeps every rule (plans, triggers, vectors, budgets) and its portable SQL; only
what FTS5 did differently lives here. Retrieval ORs the query's content words
(`to_tsquery('english')`: stemmed, as the FTS5 table's porter tokenizer stems) and ranks with
`ts_rank`, titles weighted above text.
"""

from __future__ import annotations

from collections.abc import Sequence

from memory.kb.rows import ENTRY_COLUMNS, entry_to_row
from memory.postgres.pool import PostgresDatabase
from memory.records import KBEntry

_INSERT = f"INSERT INTO kb_entries ({ENTRY_COLUMNS}) VALUES ({', '.join('?' * 11)})"
_SEARCH = """
SELECT e.id FROM kb_entries e, to_tsquery('english', ?) q
WHERE e.words @@ q AND e.kind = 'retrieved' AND e.scope = ANY(?)
ORDER BY ts_rank(e.words, q) DESC, e.id LIMIT ?
"""


async def write_entries(
    db: PostgresDatabase, *, delete_ids: Sequence[str], insert: Sequence[KBEntry]
) -> None:
    """Retire and insert in one transaction, and bump the generation other processes watch."""
    async with db.transaction() as conn:
        if delete_ids:
            await conn.execute("DELETE FROM kb_entries WHERE id = ANY(?)", (list(delete_ids),))
        await conn.executemany(_INSERT, [entry_to_row(entry) for entry in insert])
        await conn.execute("UPDATE kb_meta SET value = value + 1 WHERE key = 'generation'")


async def search_ids(
    db: PostgresDatabase, terms: Sequence[str], scopes: Sequence[str], limit: int
) -> list[str]:
    """Ids of retrieved entries matching any of `terms` (words: \\w+, no quote), best first."""
    query = " | ".join(f"'{term}'" for term in terms if "'" not in term and "\\" not in term)
    if not query:
        return []
    rows = await db.fetchall(_SEARCH, (query, list(scopes), limit))
    return [str(row["id"]) for row in rows]
