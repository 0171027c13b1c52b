"""Each person's own memory page, in a real browser: the `/memory web` link opens once, shows
that person's facts and the messages behind them, deletes what they ask through `/forget`, exports,
and shows nothing of anyone else; an expired link shows nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.bot.support import Learned, Person, ScriptedModel, dm, fact
from tests.support.llm_server import LLMServer
from tests.web.support import browser, link_in, screenshot, web_app

pytestmark = pytest.mark.browser

ALICE = Person(platform="discord", user_id="1001", name="Alice")
BOB = Person(platform="matrix", user_id="@bob:example.org", name="Bob")
MODEL = ScriptedModel(
    Learned(trigger="locker code is", facts=(fact("locker_code", "4417"),)),
    Learned(trigger="my cat", facts=(fact("pet", "a cat called Miso", "relationship"),)),
)


async def test_a_link_works_once_and_shows_only_its_own_person(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(MODEL)
    async with web_app(llm_server, tmp_path) as (chat, _), browser() as chromium:
        await chat.say(dm(ALICE, "my gym locker code is 4417"), dm(ALICE, "my cat is called Miso"))
        await chat.say(dm(BOB, "I grow tomatoes on the balcony"))
        alice_link = link_in((await chat.command("memory", dm(ALICE, ""), "web")).text)
        bob_link = link_in((await chat.command("memory", dm(BOB, ""), "web")).text)

        page = await chromium.new_page()
        await page.goto(alice_link)
        await expect(page.get_by_role("heading", name="What I remember about you")).to_be_visible()
        await expect(page.locator("tr.fact", has_text="locker code")).to_contain_text(
            "my gym locker code is 4417"
        )
        await expect(page.locator("#memories")).to_contain_text("my cat is called Miso")
        await expect(page.locator("body")).not_to_contain_text("tomatoes")
        await screenshot(page, "me")

        async with page.expect_download() as download:
            await page.click("text=Export everything (JSON)")
        saved = await (await download.value).path()
        exported = json.loads(await asyncio.to_thread(saved.read_bytes))
        assert {f["value"] for f in exported["facts"]} == {"4417", "a cat called Miso"}

        await page.locator("tr.fact", has_text="locker code").get_by_role("button", name="Delete").click()
        await expect(page.get_by_role("status")).to_contain_text('mentioning "4417"')
        await expect(page.locator("#facts")).not_to_contain_text("4417")
        await expect(page.locator("#facts")).to_contain_text("Miso")

        again = await chromium.new_page()  # the same link a second time, as if forwarded
        response = await again.goto(alice_link)
        assert response is not None
        assert response.status == 410
        await expect(again.locator("body")).not_to_contain_text("Miso")

        bob = await (await chromium.new_context()).new_page()
        await bob.goto(bob_link)
        await expect(bob.locator("#memories")).to_contain_text("tomatoes")
        await expect(bob.locator("body")).not_to_contain_text("Miso")
        await expect(bob.locator("body")).not_to_contain_text("locker")

        await page.check("input[name=everything]")
        await page.get_by_role("button", name="Forget everything").click()
        await expect(page.locator("#memories")).to_contain_text("No memories.")
        assert (await chat.export(dm(ALICE, "")))["memories"] == []


async def test_an_expired_link_shows_nothing(llm_server: LLMServer, tmp_path: Path) -> None:
    llm_server.set_responder(MODEL)
    async with web_app(llm_server, tmp_path, link_ttl_s=0.2) as (chat, _), browser() as chromium:
        await chat.say(dm(ALICE, "my gym locker code is 4417"))
        link = link_in((await chat.command("memory", dm(ALICE, ""), "web")).text)
        await asyncio.sleep(0.5)  # past the link's lifetime
        page = await chromium.new_page()
        response = await page.goto(link)
        assert response is not None
        assert response.status == 410
        await expect(page.locator("body")).to_contain_text("already used or has expired")
        await expect(page.locator("body")).not_to_contain_text("4417")
