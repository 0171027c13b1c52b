"""The real App with its web server on a free loopback port, and Debian's chromium driven by
Playwright (never a downloaded browser). Screenshots go to test-artifacts/web/ (gitignored)."""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright
from pydantic import SecretStr

from bot.app import App
from tests.bot.support import Chat, scenario_settings
from tests.support.llm_server import LLMServer
from web.server import WebServer
from web.settings import WebSettings

PASSWORD = "correct horse battery staple"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
_CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-background-networking",  # nothing leaves the machine
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@asynccontextmanager
async def web_app(server: LLMServer, data_dir: Path, **web: Any) -> AsyncIterator[tuple[Chat, WebServer]]:
    knobs = {"port": 0, "admin_password": SecretStr(PASSWORD), **web}
    settings = scenario_settings(server, data_dir).model_copy(update={"web": WebSettings(**knobs)})
    async with App(settings) as app:
        assert app.web is not None
        yield Chat(app, server), app.web


@asynccontextmanager
async def browser() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium")
    assert executable is not None, "Debian's chromium is missing: `make chromium` installs it"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=_CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def log_in(page: Page, base: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/login")
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")


async def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def link_in(text: str) -> str:
    found = re.search(r"https?://\S+/me/\S+", text)
    assert found is not None, text
    return found.group(0)
