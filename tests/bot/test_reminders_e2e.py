"""Reminders through the whole bot: the real App, its book and scheduler, the terminal adapter and
discord.py against the Discord fake, on a clock the test moves. What is asserted is what the
person sees: the reminder, once, where it was set, late with a note after downtime, never once
cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from adapters.terminal import TerminalAdapter
from bot.app import App, supervise
from persona.personas import builtin_personas_dir
from persona.types import IncomingMessage
from tests.bot.platform_support import familiar_settings, running_familiar, wait_until
from tests.bot.test_platforms_e2e import discord_ready, discord_section, fake_discord, posts, responder
from tests.persona.reminders.support import Clock
from tests.support.discord_fake import APP_ID, CHANNEL_ID, DM_CHANNEL_ID, USER_ID, FakeDiscord
from tests.support.llm_server import LLMServer, llm_server, reply, tool_call

__all__ = ["fake_discord", "llm_server", "responder"]


def discord_origin(*, room: int, is_dm: bool, event: str) -> IncomingMessage:
    return IncomingMessage(platform="discord", room_id=str(room), author_id=str(USER_ID), author_name="alice",
                           text="remind me", event_id=event, is_dm=is_dm)  # fmt: skip


def reminder_posts(fake: FakeDiscord, channel: int) -> list[str]:
    return [str(p.get("content", "")) for p in posts(fake, channel) if "Reminder:" in str(p.get("content"))]


@contextlib.asynccontextmanager
async def terminal_app(app: App, out: io.StringIO) -> AsyncIterator[int]:
    """The terminal adapter reading a real pipe, as `cmd | familiar chat` does; yields its write end.
    It ends as a person leaving does: end of input, so the adapter returns and the supervisor stops."""
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "r") as stdin:
        terminal = TerminalAdapter(app.built.engine, app.settings.terminal,
                                   export_dir=app.settings.data_dir, stdin=stdin, stdout=out,
                                   interactive=False)  # fmt: skip
        async with app.assistant.running([terminal]):
            task = asyncio.create_task(supervise([terminal]), name="terminal-under-test")
            try:
                yield write_fd
            finally:
                os.close(write_fd)
                await asyncio.wait_for(task, timeout=20)


async def test_terminal_reminder_is_listed_then_delivered_once_at_its_time(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    clock = Clock()
    settings = familiar_settings(tmp_path / "data", llm_server, terminal={"user_id": "ada"})
    out = io.StringIO()
    async with App(settings, clock=clock) as app, terminal_app(app, out) as feed:
        origin = IncomingMessage(platform="terminal", room_id="console", author_id="ada",
                                     author_name="ada", text="", event_id="term-1", is_dm=True)  # fmt: skip
        view = await app.assistant.book.schedule(origin, text="stretch", when="in 2 minutes")
        os.write(feed, b"/reminders\n")
        await wait_until(lambda: view.id in out.getvalue())
        assert "stretch" in out.getvalue()
        clock.advance(minutes=2)
        app.assistant.scheduler.wake()
        await wait_until(lambda: "⏰ Reminder: stretch" in out.getvalue())
        assert await app.assistant.scheduler.run_due() == 0  # nothing left to send
        os.write(feed, b"/reminders\n")
        await wait_until(lambda: "no reminders" in out.getvalue())
        await app.assistant.book.schedule(origin, text="call the dentist", when="tomorrow at 9")
        os.write(feed, b"/forget dentist\n")  # /forget reaches the reminders too
        await wait_until(lambda: "1 reminders" in out.getvalue())
        assert await app.assistant.book.upcoming(origin) == []
    assert out.getvalue().count("⏰ Reminder: stretch") == 1


@pytest.mark.usefixtures("responder")
async def test_discord_reminders_delivered_once_kept_across_restart_late_and_cancelled(
    fake_discord: FakeDiscord, llm_server: LLMServer, tmp_path: Path
) -> None:
    clock = Clock()
    settings = familiar_settings(tmp_path / "data", llm_server, discord=discord_section())
    async with running_familiar(settings, clock=clock) as familiar:
        await discord_ready(familiar)
        book = familiar.app.assistant.book
        dm = discord_origin(room=DM_CHANNEL_ID, is_dm=True, event="1")
        room = discord_origin(room=CHANNEL_ID, is_dm=False, event="2")
        await book.schedule(dm, text="drink water", when="in 1 minute")
        later = await book.schedule(dm, text="take the pills", when="in 60 minutes")
        dropped = await book.schedule(room, text="call bob", when="in 90 minutes")
        # Cancelled with the slash command, as the person would.
        cancel = [{"name": "cancel", "type": 1, "options": [{"name": "reminder_id", "type": 3,
                                                            "value": dropped.id}]}]  # fmt: skip
        await fake_discord.dispatch("INTERACTION_CREATE", fake_discord.slash_command("reminders", cancel))
        await fake_discord.wait_for(lambda: len(fake_discord.sent("POST", f"/webhooks/{APP_ID}/")) == 1)
        [answer] = fake_discord.sent("POST", f"/webhooks/{APP_ID}/")
        assert "Cancelled: call bob" in str((answer.json or {}).get("content"))
        clock.advance(minutes=1)
        familiar.app.assistant.scheduler.wake()
        await fake_discord.wait_for(lambda: len(reminder_posts(fake_discord, DM_CHANNEL_ID)) == 1)
        await wait_until(lambda: familiar.app.assistant.scheduler.delivered == 1)
        assert await familiar.app.assistant.scheduler.run_due() == 0

    # Down for three hours: "take the pills" (due at 09:00) is missed, then the bot starts again.
    clock.advance(hours=3)
    async with running_familiar(settings, clock=clock) as familiar:
        await discord_ready(familiar)
        clock.advance(seconds=30)  # a pass before Discord was connected put the reminder off: its retry
        familiar.app.assistant.scheduler.wake()
        await fake_discord.wait_for(lambda: len(reminder_posts(fake_discord, DM_CHANNEL_ID)) == 2)
        await wait_until(lambda: familiar.app.assistant.scheduler.delivered == 1)  # posted, then marked
        clock.advance(hours=1)  # past the cancelled one's time, too
        assert await familiar.app.assistant.scheduler.run_due() == 0
        assert await familiar.app.assistant.book.upcoming(dm) == []

    assert reminder_posts(fake_discord, DM_CHANNEL_ID) == [
        "⏰ Reminder: drink water",
        "⏰ Reminder: take the pills\n(late: I was offline at 09:00 UTC)",
    ]
    assert reminder_posts(fake_discord, CHANNEL_ID) == []
    assert later.local_due == "Wed 2 Dec 09:00 (UTC)"


def _persona_with_reminder_tools(data_dir: Path) -> Path:
    spec = yaml.safe_load((builtin_personas_dir() / "default.yaml").read_text(encoding="utf-8"))
    folder = data_dir / "personas"
    folder.mkdir(parents=True, exist_ok=True)
    tools = ["set_reminder", "list_reminders", "cancel_reminder"]
    (folder / "default.yaml").write_text(yaml.safe_dump({**spec, "tools": tools}), encoding="utf-8")
    return folder


async def test_asked_in_chat_a_tool_capable_model_sets_the_reminder_and_it_arrives_on_time(
    llm_server: LLMServer, tmp_path: Path
) -> None:
    # The newcomer's path: "remind me in two minutes to stretch" typed into `familiar chat`; the
    # model calls set_reminder, the real book stores it, the scheduler posts it in the terminal.
    clock = Clock()
    data_dir = tmp_path / "data"
    settings = familiar_settings(data_dir, llm_server, terminal={"user_id": "ada"})
    settings = settings.model_copy(update={"persona_dir": _persona_with_reminder_tools(data_dir)})
    llm_server.script(
        tool_call("set_reminder", {"text": "stretch", "when": "in 2 minutes"}),
        reply("Done: I'll remind you to stretch in two minutes."),
    )
    out = io.StringIO()
    async with App(settings, clock=clock) as app, terminal_app(app, out) as feed:
        os.write(feed, b"remind me in two minutes to stretch\n")
        await wait_until(lambda: "I'll remind you to stretch" in out.getvalue())
        origin = IncomingMessage(platform="terminal", room_id="console", author_id="ada",
                                 author_name="ada", text="", event_id="probe", is_dm=True)  # fmt: skip
        [view] = await app.assistant.book.upcoming(origin)
        assert view.text == "stretch"
        assert "⏰ Reminder: stretch" not in out.getvalue()
        clock.advance(minutes=2)
        app.assistant.scheduler.wake()
        await wait_until(lambda: "⏰ Reminder: stretch" in out.getvalue())
    assert out.getvalue().count("⏰ Reminder: stretch") == 1
