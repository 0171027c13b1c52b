"""Dashboard pages about the whole bot: live health, the journal by day, personas, usage."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from aiohttp import web

from persona.usage import usage_day, usage_key
from web.admin import CONTEXT, session_of
from web.charts import Bar, bar_chart
from web.context import WebContext
from web.pages import render
from web.records import usage_bars


async def queue_state(ctx: WebContext) -> tuple[int, float]:
    """(jobs in the outbox, age of the oldest in seconds): the durable queue, not just this process's."""
    pending = await ctx.stores.outbox.pending()
    oldest = min((job.origin_ts for job in pending), default=None)
    return len(pending), (time.time() - oldest if oldest is not None else 0.0)


def _counts(ctx: WebContext, prefix: str) -> dict[str, int]:
    stats = ctx.status.stats
    return {k.removeprefix(prefix): v for k, v in sorted(stats.items()) if k.startswith(prefix) and v}


def _degraded(ctx: WebContext) -> dict[str, int]:
    return {
        key.removeprefix("gather."): value
        for key, value in sorted(ctx.status.stats.items())
        if key.startswith("gather.") and key.endswith((".timeout", ".error")) and value
    }


async def health(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    depth, oldest = await queue_state(ctx)
    latency = {stage: ctx.metrics.summary(stage) for stage in ("gather", "first_token", "turn")}
    return render(
        "health.html",
        csrf=session_of(request).csrf,
        adapters=dict(ctx.adapters),
        latency=latency,
        errors=_counts(ctx, "provider."),
        turns=_counts(ctx, "turns."),
        degraded=_degraded(ctx),
        outages=_counts(ctx, "outage."),
        depth=depth,
        oldest=oldest,
        running=ctx.status.queued_jobs,
        sessions=ctx.status.active_sessions,
    )


async def journal(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    days = await ctx.directory.journal_days()
    day = request.query.get("day") or (days[0].day if days else datetime.now(UTC).date().isoformat())
    entries = await ctx.directory.journal_day(day)
    return render("journal.html", csrf=session_of(request).csrf, days=days, day=day, entries=entries)


async def personas(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    specs = [ctx.catalog.get(name) for name in ctx.catalog.names()]
    bindings = sorted(ctx.bindings.all().items())
    default = ctx.catalog.get(None).name
    return render(
        "personas.html", csrf=session_of(request).csrf, personas=specs, bindings=bindings, default=default
    )


async def usage(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    quota = ctx.engine_settings.daily_token_quota
    today = usage_day(datetime.now(UTC))
    rows = []
    for person in await ctx.directory.people(limit=200):
        used = await ctx.stores.limits.usage(usage_key(person.identity), today)
        rows.append((person, used, max(0, quota - used) if quota else None))
    everyone = frozenset(p.identity for p, _, _ in rows)
    chart = bar_chart(await usage_bars(ctx, everyone), title="Tokens per day, everyone", unit="tokens")
    rooms = await ctx.directory.rooms()
    room_chart = bar_chart(
        [Bar(label=r.scope, value=r.memories) for r in rooms[:20]], title="Messages per room", unit="messages"
    )
    return render(
        "usage.html",
        csrf=session_of(request).csrf,
        rows=rows,
        quota=quota,
        chart=chart,
        rooms=rooms,
        room_chart=room_chart,
        limited=ctx.status.stats.get("turns.limited", 0),
    )
