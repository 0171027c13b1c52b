"""The operator's dashboard in a real browser (Debian's chromium via Playwright) against the real App.

What an operator would notice: the login lets the right password in and keeps a wrong one (and,
past the limit, everyone) out; a form without its CSRF token is refused; a person's fact is shown
with the message it came from, and deleting it there takes it out of the next prompt the model
receives; an uploaded file shows its progress and is then found by search.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.bot.support import Chat, Learned, Person, ScriptedModel, dm, fact
from tests.support.llm_server import LLMServer
from tests.web.support import browser, log_in, screenshot, web_app
from web.server import WebServer

# One App, one LLM server and one browser for the module (opening an App costs seconds); each test
# uses people and pages of its own.
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

ALICE = Person(platform="discord", user_id="1001", name="Alice")
BOB = Person(platform="discord", user_id="2002", name="Bob")
LOCKER = Learned(
    trigger="locker code is", facts=(fact("locker_code", "4417"),), dossier="Alice uses locker 4417."
)
ATTEMPTS = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Dashboard:
    chat: Chat
    server: WebServer
    chromium: Browser


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def dashboard(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Dashboard]:
    data = tmp_path_factory.mktemp("dashboard")
    async with LLMServer() as llm:
        llm.set_responder(ScriptedModel(LOCKER))
        async with web_app(llm, data, login_attempts=ATTEMPTS) as (chat, server), browser() as chromium:
            yield Dashboard(chat=chat, server=server, chromium=chromium)


async def test_login_refuses_a_wrong_password_and_forms_without_their_csrf_token(
    dashboard: Dashboard,
) -> None:
    server, chromium = dashboard.server, dashboard.chromium
    page = await chromium.new_page()
    await log_in(page, server.url, "not the password")
    await expect(page.get_by_role("alert")).to_have_text("Wrong password.")
    await screenshot(page, "login-refused")
    await page.goto(f"{server.url}/people")
    assert page.url.endswith("/login"), "a refused login must not open the dashboard"

    await log_in(page, server.url)
    await expect(page.get_by_role("heading", name="Health")).to_be_visible()
    await screenshot(page, "health")

    # The browser's own cookies, but no token: what a cross-site form would send.
    forged = await page.request.post(
        f"{server.url}/kb/add", form={"title": "Forged", "text": "planted"}, max_redirects=0
    )
    assert forged.status == 403
    await page.goto(f"{server.url}/kb")
    await expect(page.get_by_text("Forged")).to_have_count(0)


async def test_operator_deletes_a_fact_and_the_next_prompt_no_longer_holds_it(
    dashboard: Dashboard,
) -> None:
    chat, server, chromium = dashboard.chat, dashboard.server, dashboard.chromium
    await chat.say(dm(ALICE, "my gym locker code is 4417"), dm(BOB, "I like tea"))
    before = await chat.ask(dm(ALICE, "what's the locker code again?"))
    assert "4417" in before.system_text  # the fact reaches the prompt before it is deleted

    page = await chromium.new_page()
    await log_in(page, server.url)
    await page.goto(f"{server.url}/people")
    await page.fill("input[name=q]", "Alice")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_role("link", name=ALICE.identity)).to_be_visible()
    await expect(page.get_by_role("link", name=BOB.identity)).to_have_count(0)
    await screenshot(page, "people")
    await page.get_by_role("link", name=ALICE.identity).click()

    row = page.locator("tr.fact", has_text="locker code")
    await expect(row).to_contain_text("4417")
    await expect(row.locator(".source")).to_contain_text("my gym locker code is 4417")
    await expect(page.locator("#dossier")).to_contain_text("Alice uses locker 4417.")
    await expect(page.locator("svg.chart").first).to_be_visible()  # the memory timeline
    await screenshot(page, "person")
    await row.get_by_role("button", name="Delete").click()
    await expect(page.get_by_role("status")).to_contain_text("I forgot everything mentioning")
    await expect(page.locator("tr.fact", has_text="locker code")).to_have_count(0)

    after = await chat.ask(dm(ALICE, "and what is my locker code now?"))
    assert "4417" not in after.prompt_text
    for path, heading in (("/journal", "Journal"), ("/personas", "Personas"), ("/usage", "Usage")):
        await page.goto(server.url + path)
        await expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        await screenshot(page, path.strip("/"))
    await page.goto(server.url)  # live health after four answered turns
    await expect(page.locator("tr", has_text="answered")).to_contain_text("4")
    await expect(page.locator("tr", has_text="first token")).to_contain_text("4")
    await screenshot(page, "health-after-turns")


async def test_an_uploaded_file_shows_its_progress_and_is_then_searchable(
    dashboard: Dashboard, tmp_path: Path
) -> None:
    document = tmp_path / "opening-hours.md"
    document.write_text(
        "# Opening hours\n\nThe allotment garden opens at seven and the gate code is kestrel.\n"
        + "Filler line to give the upload some size.\n" * 2000,
        encoding="utf-8",
    )
    unsupported = tmp_path / "photo.bmp"
    unsupported.write_bytes(b"BM" + bytes(64))
    server, chromium = dashboard.server, dashboard.chromium
    page = await chromium.new_page()
    await log_in(page, server.url)
    await page.goto(f"{server.url}/kb")
    await page.set_input_files("#files", [str(document), str(unsupported)])
    await page.click("#upload button[type=submit]")
    done = page.locator("#uploads li.done")
    await expect(done).to_contain_text("opening-hours.md: ingested")
    assert await done.locator("progress").evaluate("bar => bar.value") == 100
    await expect(page.locator("#uploads li.failed")).to_contain_text("photo.bmp: failed")
    await screenshot(page, "kb-upload")

    await page.goto(f"{server.url}/kb")
    await page.fill("input[name=q]", "gate code kestrel")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#results .result").first).to_contain_text("Opening hours")
    await screenshot(page, "kb-search")


async def test_past_the_limit_even_the_right_password_is_refused(dashboard: Dashboard) -> None:
    """Last in the module: it locks this address out of the module's app for the window."""
    page = await dashboard.chromium.new_page()
    for _ in range(ATTEMPTS):
        await log_in(page, dashboard.server.url, "guess")
    await log_in(page, dashboard.server.url)
    await expect(page.get_by_role("alert")).to_contain_text("Too many failed logins")
    await page.goto(f"{dashboard.server.url}/people")
    assert page.url.endswith("/login")
