"""The knowledgebase pages: list, search, add, remove, and file upload (progress shown by the browser)."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime

from aiohttp import BodyPartReader, web

from memory.records import KBEntry
from web.admin import CONTEXT, session_of
from web.pages import render

_log = logging.getLogger(__name__)
_SEARCH_BUDGET = 4000  # tokens: a page of results, not a prompt


async def kb_page(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    entries = await ctx.stores.kb.list()
    query = request.query.get("q", "").strip()
    found: list[KBEntry] | None = None
    if query:
        scopes = sorted({e.scope for e in entries}) or ["global"]
        found = await ctx.stores.kb.select(
            query=query, recent_text=query, scopes=scopes, token_budget=_SEARCH_BUDGET
        )
    return render(
        "kb.html",
        csrf=session_of(request).csrf,
        entries=entries,
        q=query,
        found=found,
        notice=request.query.get("done", ""),
    )


async def kb_add(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    form = await request.post()
    title, text = str(form.get("title", "")).strip(), str(form.get("text", "")).strip()
    if not title or not text:
        raise web.HTTPBadRequest(text="An entry needs a title and a text.")
    digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    entry = KBEntry(
        id=f"manual:{digest[:16]}",
        title=title,
        text=text,
        kind="retrieved",
        scope=str(form.get("scope", "global")).strip() or "global",
        source="dashboard",
        content_hash=digest,
        created_at=datetime.now(UTC),
    )
    added = await ctx.stores.kb.add([entry])
    raise web.HTTPSeeOther(f"/kb?done={'Added' if added else 'Already there'}: {title}")


async def kb_remove(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    entry_id = str(form.get("id", ""))
    removed = await request.app[CONTEXT].stores.kb.remove(entry_id)
    raise web.HTTPSeeOther(f"/kb?done={'Removed' if removed else 'Not found'}: {entry_id}")


async def kb_upload(request: web.Request) -> web.StreamResponse:
    """One file per request (the page sends each with its own progress bar); JSON result."""
    ctx = request.app[CONTEXT]
    limit = ctx.settings.max_upload_mb * 1024 * 1024
    reader = await request.multipart()
    part = await reader.next()
    if not isinstance(part, BodyPartReader) or not part.filename:
        raise web.HTTPBadRequest(text="Send one file in the field 'file'.")
    data = bytearray()
    while chunk := await part.read_chunk():
        data += chunk
        if len(data) > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(data))
    scope = request.query.get("scope", "global")
    try:
        changed = await ctx.ingest(part.filename, bytes(data), scope)
    except ValueError as error:  # unreadable or unsupported: say which and why, keep nothing
        return web.json_response({"file": part.filename, "error": str(error)}, status=422)
    _log.info("kb upload %s: %d entries changed", part.filename, changed)
    return web.json_response({"file": part.filename, "changed": changed})
