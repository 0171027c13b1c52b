"""Slash commands: /ask, /persona, /memory show|forget|export|web, /journal, /kb search|add, /config,
/reminders list|cancel, /timezone, /checkin, /voice.

Each maps onto the engine's `Command` (or, for /ask, a submitted message). Every interaction is
deferred first because Discord wants an answer within 3 s; private answers are ephemeral.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands

from adapters.discord.settings import DiscordSettings
from adapters.discord.sink import InteractionSurface, StreamingSink, safe_mentions
from adapters.discord.splitting import split_message
from adapters.discord.translate import PLATFORM
from persona.api import Command, CommandName, CommandResult, Engine
from persona.inbound import normalise
from persona.types import IncomingMessage, TurnOutcome

_log = logging.getLogger(__name__)

ADMIN_REFUSAL = "Only this bot's admins can do that (ask one to add your user id or role to `admin_*_ids`)."
MERGED_NOTE = "(Answered together with your previous message.)"

Runner = Callable[[Coroutine[Any, Any, None]], Awaitable[None]]


class CommandHandler:
    """What each slash command does; `track` runs the work as an owned, drained task."""

    def __init__(self, *, engine: Engine, settings: DiscordSettings, track: Runner) -> None:
        self._engine = engine
        self._settings = settings
        self._track = track

    async def ask(self, interaction: discord.Interaction, prompt: str) -> None:
        await self._track(self._ask(interaction, prompt))

    async def run(
        self,
        interaction: discord.Interaction,
        name: CommandName,
        args: str = "",
        *,
        private: bool = False,
        admin_only: bool = False,
    ) -> None:
        await self._track(self._run(interaction, name, args, private=private, admin_only=admin_only))

    async def _ask(self, interaction: discord.Interaction, prompt: str) -> None:
        await interaction.response.defer(thinking=True)
        sink = StreamingSink(
            InteractionSurface(interaction, ephemeral=False),
            edit_interval=self._settings.stream_edit_interval,
            typing=False,
        )
        message = self._asked(interaction, prompt)
        try:
            admission = await self._engine.admit(message)
            if not admission.admitted:
                if admission.reply is not None:
                    await sink.send(admission.reply)
                return
            outcome = await self._engine.submit(message, sink)
        finally:
            await sink.aclose()
        if outcome is TurnOutcome.MERGED:
            await interaction.edit_original_response(content=MERGED_NOTE)

    def _asked(self, interaction: discord.Interaction, prompt: str) -> IncomingMessage:
        """/ask as a message in its channel: the room's persona, model and session policy apply."""
        message = self._context(interaction, prompt)
        policy = self._settings.policy_for(
            guild_id=interaction.guild_id,
            channel_id=int(message.room_id),
            thread_id=int(message.thread_id) if message.thread_id is not None else None,
        )
        return replace(
            message, persona=policy.persona, model=policy.model, per_user_session=policy.per_user_session
        )

    async def _run(
        self,
        interaction: discord.Interaction,
        name: CommandName,
        args: str,
        *,
        private: bool,
        admin_only: bool,
    ) -> None:
        is_admin = self.is_admin(interaction)
        if admin_only and not is_admin:
            await interaction.response.send_message(ADMIN_REFUSAL, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=private, thinking=True)
        command = Command(name=name, args=args, context=self._context(interaction, args), is_admin=is_admin)
        result = await self._engine.command(command)
        await self._deliver(interaction, result, private=private)

    async def _deliver(
        self, interaction: discord.Interaction, result: CommandResult, *, private: bool
    ) -> None:
        ephemeral = private or result.ephemeral
        mentions = safe_mentions(interaction.user)
        parts = split_message(result.text) if result.text.strip() else ["Done."]
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last and result.file_data is not None:
                file = discord.File(
                    io.BytesIO(result.file_data), filename=result.file_name or "familiar.json"
                )
                await interaction.followup.send(
                    part, file=file, ephemeral=ephemeral, allowed_mentions=mentions
                )
            else:
                await interaction.followup.send(part, ephemeral=ephemeral, allowed_mentions=mentions)

    def is_admin(self, interaction: discord.Interaction) -> bool:
        user = interaction.user
        roles = [role.id for role in user.roles] if isinstance(user, discord.Member) else []
        return self._settings.is_admin(user.id, roles)

    @staticmethod
    def _context(interaction: discord.Interaction, text: str) -> IncomingMessage:
        channel = interaction.channel
        thread_id = channel.id if isinstance(channel, discord.Thread) else None
        parent = channel.parent_id if isinstance(channel, discord.Thread) else None
        room = parent if parent is not None else interaction.channel_id
        message = IncomingMessage(
            platform=PLATFORM,
            room_id=str(room),
            thread_id=str(thread_id) if thread_id is not None else None,
            author_id=str(interaction.user.id),
            author_name=interaction.user.display_name,
            text=text,
            event_id=f"interaction:{interaction.id}",
            is_dm=interaction.guild_id is None,
            mentions_bot=True,
            timestamp=interaction.created_at,
        )
        return normalise(message)  # a slash command's text is a person's text like any other


def build_command_tree(client: discord.Client, handler: CommandHandler) -> app_commands.CommandTree:
    tree = app_commands.CommandTree(client)
    _add_conversation_commands(tree, handler)
    tree.add_command(_memory_group(handler))
    tree.add_command(_kb_group(handler))
    tree.add_command(_reminders_group(handler))
    _add_assistant_commands(tree, handler)
    tree.error(_log_command_error)
    return tree


def _add_conversation_commands(tree: app_commands.CommandTree, handler: CommandHandler) -> None:
    @tree.command(name="ask", description="Ask the familiar something")
    @app_commands.describe(prompt="What you want to ask")
    async def ask(interaction: discord.Interaction, prompt: str) -> None:
        await handler.ask(interaction, prompt)

    @tree.command(name="persona", description="Show the persona here, or bind another one")
    @app_commands.describe(name="Persona to bind to this channel or thread (empty: show)")
    async def persona(interaction: discord.Interaction, name: str = "") -> None:
        await handler.run(interaction, "persona", name)

    @tree.command(name="journal", description="Today's journal entries visible here")
    async def journal(interaction: discord.Interaction) -> None:
        await handler.run(interaction, "journal")

    @tree.command(name="config", description="Show or change a setting (admins only)")
    @app_commands.describe(setting="'key value' to change, empty to show")
    async def config(interaction: discord.Interaction, setting: str = "") -> None:
        await handler.run(interaction, "config", setting, private=True, admin_only=True)


def _memory_group(handler: CommandHandler) -> app_commands.Group:
    group = app_commands.Group(name="memory", description="What the familiar remembers about you")

    @group.command(name="show", description="Show what is known about you (only you see it)")
    async def show(interaction: discord.Interaction) -> None:
        await handler.run(interaction, "memory", private=True)

    @group.command(name="forget", description="Forget everything, or what matches a phrase")
    @app_commands.describe(phrase="What to forget (empty: everything)")
    async def forget(interaction: discord.Interaction, phrase: str = "") -> None:
        await handler.run(interaction, "forget", phrase, private=True)

    @group.command(name="export", description="Everything known about you, as a JSON file")
    async def export(interaction: discord.Interaction) -> None:
        await handler.run(interaction, "export", private=True)

    @group.command(
        name="web", description="A private one-time link to see and delete what is known about you"
    )
    async def web(interaction: discord.Interaction) -> None:
        await handler.run(interaction, "memory", "web", private=True)

    return group


def _kb_group(handler: CommandHandler) -> app_commands.Group:
    group = app_commands.Group(name="kb", description="The knowledgebase")

    @group.command(name="search", description="Search the knowledgebase")
    @app_commands.describe(query="What to look for")
    async def search(interaction: discord.Interaction, query: str) -> None:
        await handler.run(interaction, "kb_search", query)

    @group.command(name="add", description="Add an entry (admins only; first line is the title)")
    @app_commands.describe(text="The entry; its first line is the title")
    async def add(interaction: discord.Interaction, text: str) -> None:
        await handler.run(interaction, "kb_add", text, private=True, admin_only=True)

    return group


def _reminders_group(handler: CommandHandler) -> app_commands.Group:
    group = app_commands.Group(name="reminders", description="Your reminders")

    @group.command(name="list", description="Your reminders not yet delivered (only you see them)")
    async def list_(interaction: discord.Interaction) -> None:
        await handler.run(interaction, "reminders", private=True)

    @group.command(name="cancel", description="Cancel one of your reminders")
    @app_commands.describe(reminder_id="The reminder's id, as /reminders list shows it")
    async def cancel(interaction: discord.Interaction, reminder_id: str) -> None:
        await handler.run(interaction, "reminders", f"cancel {reminder_id}", private=True)

    return group


def _add_assistant_commands(tree: app_commands.CommandTree, handler: CommandHandler) -> None:
    @tree.command(name="timezone", description="Show or set the time zone your reminders are read in")
    @app_commands.describe(zone="An IANA zone such as Europe/Paris (empty: show)")
    async def timezone(interaction: discord.Interaction, zone: str = "") -> None:
        await handler.run(interaction, "timezone", zone, private=True)

    @tree.command(name="checkin", description="A daily check-in by DM: on, off, or at 08:30")
    @app_commands.describe(setting="on, off, or 'at 08:30' (empty: show)")
    async def checkin(interaction: discord.Interaction, setting: str = "") -> None:
        await handler.run(interaction, "checkin", setting, private=True)

    @tree.command(name="voice", description="Answer your voice messages by voice too: on or off")
    @app_commands.describe(setting="on or off (empty: show)")
    async def voice(interaction: discord.Interaction, setting: str = "") -> None:
        await handler.run(interaction, "voice", setting, private=True)


async def _log_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    _log.error("slash command %s failed", interaction.command, exc_info=error)


async def sync_commands(tree: app_commands.CommandTree, guild_ids: list[int]) -> None:
    """Guild-scoped sync appears at once (development); global sync can take a while to show."""
    if not guild_ids:
        synced = await tree.sync()
        _log.info("synced %d global slash commands", len(synced))
        return
    for guild_id in guild_ids:
        guild = discord.Object(id=guild_id)
        tree.copy_global_to(guild=guild)
        synced = await tree.sync(guild=guild)
        _log.info("synced %d slash commands to guild %s", len(synced), guild_id)
