"""Dashboard pages about people: the list, one person's records, deleting through `/forget`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiohttp import web

from persona.api import Command, CommandName, CommandResult, Engine
from persona.types import IncomingMessage
from web.admin import CONTEXT, session_of
from web.charts import bar_chart
from web.pages import render
from web.records import person_records

_log = logging.getLogger(__name__)


def as_person(identity: str) -> IncomingMessage:
    """The person themselves, in a DM: how a command sees its asker (their own records, all of them)."""
    platform, _, user_id = identity.partition(":")
    now = datetime.now(UTC)
    return IncomingMessage(
        platform=platform,
        room_id="web",
        author_id=user_id,
        author_name="",
        text="",
        event_id=f"web:{now.timestamp()}",
        is_dm=True,
        timestamp=now,
    )


async def run_as(engine: Engine, identity: str, name: CommandName, args: str = "") -> CommandResult:
    """A command run for the person, exactly as if they had typed it (`/forget` is one path)."""
    return await engine.command(Command(name=name, args=args, context=as_person(identity)))


async def people(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    query = request.query.get("q", "")
    found = await ctx.directory.people(query)
    return render("people.html", people=found, q=query, csrf=session_of(request).csrf)


async def person(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    identity = request.match_info["identity"]
    records = await person_records(ctx, identity, operator=True)
    return render(
        "person.html",
        records=records,
        csrf=session_of(request).csrf,
        forget_action=str(request.app.router["person_forget"].url_for(identity=identity)),
        usage_chart=bar_chart(records.usage, title="Tokens per day", unit="tokens"),
        timeline_chart=bar_chart(records.timeline, title="Memories per day", unit="items"),
        notice=request.query.get("done", ""),
    )


async def forget(request: web.Request) -> web.StreamResponse:
    """Delete one item (by its words, as `/forget <phrase>` does) or everything about the person."""
    ctx = request.app[CONTEXT]
    identity = request.match_info["identity"]
    form = await request.post()
    phrase = str(form.get("phrase", "")).strip()
    if not phrase and form.get("everything") != "yes":
        raise web.HTTPBadRequest(text="Say what to forget, or tick 'everything'.")
    result = await run_as(ctx.engine, identity, "forget", phrase)
    _log.info("operator forgot %s for %s", "a phrase" if phrase else "everything", identity)
    raise web.HTTPSeeOther(
        request.app.router["person"].url_for(identity=identity).with_query(done=result.text)
    )
