"""Each person's own page, opened by a `/memory web` link: what the bot remembers of them only,
with export and delete (one item or everything) through the same commands as in chat."""

from __future__ import annotations

import logging

from aiohttp import web

from web.admin import CONTEXT, set_cookie
from web.auth import csrf_ok
from web.links import PageSession
from web.pages import SECURITY_HEADERS, render
from web.people import run_as
from web.records import person_records

_log = logging.getLogger(__name__)

PAGE_COOKIE = "familiar_me"
_GONE = "This link was already used or has expired. Ask me for a new one with `/memory web`."


async def open_link(request: web.Request) -> web.StreamResponse:
    """Spend the link's token and open the page session; a second opening shows nothing."""
    ctx = request.app[CONTEXT]
    redeemed = ctx.links.redeem(request.match_info["token"])
    if redeemed is None:
        return render("gone.html", status=410, message=_GONE)
    session_token, _ = redeemed
    response = web.HTTPSeeOther("/me")
    set_cookie(response, PAGE_COOKIE, session_token, path="/me")
    raise response


def _page(request: web.Request) -> PageSession:
    page = request.app[CONTEXT].links.page(request.cookies.get(PAGE_COOKIE))
    if page is None:
        raise web.HTTPGone(text=_GONE, headers=SECURITY_HEADERS)
    return page


async def my_page(request: web.Request) -> web.StreamResponse:
    page = _page(request)
    records = await person_records(request.app[CONTEXT], page.identity, operator=False)
    return render(
        "me.html",
        records=records,
        csrf=page.session.csrf,
        forget_action="/me/forget",
        notice=request.query.get("done", ""),
    )


async def my_export(request: web.Request) -> web.StreamResponse:
    page = _page(request)
    result = await run_as(request.app[CONTEXT].engine, page.identity, "export")
    headers = {**SECURITY_HEADERS, "Content-Disposition": 'attachment; filename="familiar-export.json"'}
    return web.Response(body=result.file_data or b"{}", content_type="application/json", headers=headers)


async def my_forget(request: web.Request) -> web.StreamResponse:
    page = _page(request)
    form = await request.post()
    if not csrf_ok(page.session.csrf, str(form.get("csrf", ""))):
        raise web.HTTPForbidden(text="This form has expired or did not come from your page.")
    phrase = str(form.get("phrase", "")).strip()
    if not phrase and form.get("everything") != "yes":
        raise web.HTTPBadRequest(text="Say what to forget, or tick 'everything'.")
    result = await run_as(request.app[CONTEXT].engine, page.identity, "forget", phrase)
    raise web.HTTPSeeOther(request.app.router["me"].url_for().with_query(done=result.text))
