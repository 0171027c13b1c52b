"""The operator's login, logout, and the middleware that guards every dashboard page and form."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

from web.auth import Session, csrf_ok
from web.context import WebContext
from web.pages import render

_log = logging.getLogger(__name__)

ADMIN_COOKIE = "familiar_admin"
LOGIN_CSRF_COOKIE = "familiar_login"
CONTEXT: web.AppKey[WebContext] = web.AppKey("familiar_web", WebContext)
SESSION_KEY: web.RequestKey[Session] = web.RequestKey("familiar_session", Session)
# Open without the admin session: machine endpoints, the login itself, each person's own page.
_PUBLIC_PREFIXES = ("/healthz", "/readyz", "/metrics", "/login", "/me", "/static")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def set_cookie(response: web.StreamResponse, name: str, value: str, *, path: str = "/") -> None:
    response.set_cookie(name, value, path=path, secure=True, httponly=True, samesite="Strict")


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Dashboard pages need the admin session; every form sent to them its CSRF token."""
    if request.path.startswith(_PUBLIC_PREFIXES):
        return await handler(request)
    ctx = request.app[CONTEXT]
    session = ctx.auth.sessions.get(request.cookies.get(ADMIN_COOKIE))
    if session is None:
        raise web.HTTPSeeOther("/login")
    if request.method == "POST":
        await _require_csrf(request, session)
    request[SESSION_KEY] = session
    return await handler(request)


async def _require_csrf(request: web.Request, session: Session) -> None:
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.content_type == "application/x-www-form-urlencoded":
        given = str((await request.post()).get("csrf", ""))
    if not csrf_ok(session.csrf, given):
        _log.warning("refused a form without its CSRF token: %s %s", request.method, request.path)
        raise web.HTTPForbidden(text="This form has expired or did not come from this dashboard.")


def session_of(request: web.Request) -> Session:
    return request[SESSION_KEY]


async def login_page(request: web.Request) -> web.StreamResponse:
    return _login_form(request, error="")


def _login_form(request: web.Request, *, error: str, status: int = 200) -> web.Response:
    """The login form, its CSRF token doubled in a cookie. A token already given is reused, so
    two open login tabs (or a reload) do not invalidate each other."""
    ctx = request.app[CONTEXT]
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render("login.html", status=status, csrf=token, error=error, enabled=ctx.auth.enabled)
    set_cookie(response, LOGIN_CSRF_COOKIE, token, path="/login")
    return response


async def login(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CONTEXT]
    form = await request.post()
    client = request.remote or "?"
    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(form.get("csrf", ""))):
        return _login_form(request, error="The form expired: please try again.", status=403)
    if ctx.auth.limiter.blocked(client):
        return _login_form(request, error="Too many failed logins: wait a few minutes.", status=429)
    if not await ctx.auth.check(str(form.get("password", ""))):
        ctx.auth.limiter.failed(client)
        _log.warning("failed dashboard login from %s", client)
        return _login_form(request, error="Wrong password.", status=401)
    token, _ = ctx.auth.sessions.open()
    response = web.HTTPSeeOther("/")
    set_cookie(response, ADMIN_COOKIE, token)
    raise response  # aiohttp wants redirects raised; the cookie travels with it


async def logout(request: web.Request) -> web.StreamResponse:
    request.app[CONTEXT].auth.sessions.end(request.cookies.get(ADMIN_COOKIE))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(ADMIN_COOKIE, path="/")
    raise response
