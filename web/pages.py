"""Rendering: one jinja2 environment (autoescaped) over web/templates, and the page headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

_TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_TEMPLATES),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,  # a missing variable is a bug, not an empty string
)

# Pages hold people's memories: never cached, never framed, scripts only from this server.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def render(template: str, status: int = 200, **values: Any) -> web.Response:
    html = _env.get_template(template).render(**values)
    return web.Response(text=html, status=status, content_type="text/html", headers=SECURITY_HEADERS)
