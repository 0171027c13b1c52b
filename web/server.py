"""The web server: one aiohttp application in the bot's own event loop.

aiohttp.web rather than Starlette on uvicorn: aiohttp is already a dependency (the providers' test
server, Matrix), it runs inside the loop the bot already owns (`AppRunner`/`TCPSite`, no second
server framework or its own signal handling and lifespan to reconcile with `bot.app`), and its
start and cleanup fit the same exit stack as every other resource.
"""

from __future__ import annotations

import logging

from aiohttp import web

from web import admin, kb, machine, overview, people, self_service
from web.context import WebContext
from web.pages import STATIC

_log = logging.getLogger(__name__)


def build_app(ctx: WebContext) -> web.Application:
    app = web.Application(
        middlewares=[admin.guard], client_max_size=ctx.settings.max_upload_mb * 1024 * 1024 + 65536
    )
    app[admin.CONTEXT] = ctx
    app.add_routes(
        [
            web.get("/healthz", machine.healthz),
            web.get("/readyz", machine.readyz),
            web.get("/metrics", machine.metrics),
            web.get("/login", admin.login_page),
            web.post("/login", admin.login),
            web.post("/logout", admin.logout),
            web.get("/", overview.health, name="health"),
            web.get("/people", people.people),
            web.get("/people/{identity}", people.person, name="person"),
            web.post("/people/{identity}/forget", people.forget, name="person_forget"),
            web.get("/journal", overview.journal),
            web.get("/personas", overview.personas),
            web.get("/usage", overview.usage),
            web.get("/kb", kb.kb_page),
            web.post("/kb/add", kb.kb_add),
            web.post("/kb/remove", kb.kb_remove),
            web.post("/kb/upload", kb.kb_upload),
            web.get("/me", self_service.my_page, name="me"),
            web.get("/me/export", self_service.my_export),
            web.post("/me/forget", self_service.my_forget),
            web.get("/me/{token}", self_service.open_link),
            web.static("/static", STATIC),
        ]
    )
    return app


class WebServer:
    """`start()` binds and serves; `close()` stops accepting and finishes requests. Idempotent."""

    def __init__(self, ctx: WebContext) -> None:
        self._ctx = ctx
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        if self._runner is not None:
            return
        settings = self._ctx.settings
        self._runner = web.AppRunner(build_app(self._ctx), access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, settings.host, settings.port)
        await site.start()
        self.port = _bound_port(self._runner, settings.port)
        self._ctx.links.base_url = settings.base_url(self.port)
        _log.info("web dashboard at http://%s:%d/", settings.host, self.port)

    @property
    def url(self) -> str:
        return f"http://{self._ctx.settings.host}:{self.port}"

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def _bound_port(runner: web.AppRunner, configured: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return configured
