"""Endpoints for machines: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import logging

from aiohttp import web

from web.admin import CONTEXT
from web.overview import queue_state

_log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.StreamResponse:
    """Ready when the stores answer and every adapter is running (not waiting to restart)."""
    ctx = request.app[CONTEXT]
    problems = [f"adapter {name} is {state}" for name, state in ctx.adapters.items() if state != "running"]
    try:
        await ctx.directory.memory_count()
        await ctx.stores.outbox.pending()
    except Exception as error:  # a store that does not answer: not ready, and why
        _log.warning("readiness: stores not answering: %s", error)
        problems.append(f"stores: {type(error).__name__}")
    if problems:
        return web.json_response({"status": "not ready", "problems": problems}, status=503)
    return web.json_response({"status": "ready", "adapters": dict(ctx.adapters)})


async def metrics(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    depth, oldest = await queue_state(ctx)
    ctx.metrics.queue_depth.set(depth)
    ctx.metrics.oldest_job.set(oldest)
    ctx.metrics.memory_items.set(await ctx.directory.memory_count())
    return web.Response(body=ctx.metrics.render(), headers={"Content-Type": "text/plain; version=0.0.4"})
