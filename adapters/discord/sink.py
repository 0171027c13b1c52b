"""Delivering the engine's reply to Discord: typing, throttled streaming edits, split parts.

`StreamingSink` implements the engine's `ReplySink` once; a `Surface` says where text goes
(a channel message replying to the user, or an interaction's response and follow-ups). Every send
and edit carries `safe_mentions()`, so a reply can never ping @everyone, @here or a role.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Protocol

import discord

from adapters.discord.splitting import DISCORD_LIMIT, split_message
from persona.types import Reply

_log = logging.getLogger(__name__)
_MORE = "\n…"


def safe_mentions(user: discord.abc.Snowflake | None) -> discord.AllowedMentions:
    """Only the asker may be pinged (and the replied-to user); never everyone, here or roles."""
    return discord.AllowedMentions(
        everyone=False, roles=False, users=[user] if user is not None else False, replied_user=True
    )


def preview(text: str) -> str:
    """What a streaming message shows: the first part, marked when more is coming."""
    parts = split_message(text, DISCORD_LIMIT - len(_MORE))
    return parts[0] + _MORE if len(parts) > 1 else parts[0]


class Surface(Protocol):
    async def show(self, text: str) -> None:
        """Create, or edit, the primary message (the first part; the one that replies)."""

    async def append(self, text: str) -> None:
        """Send one more message after the primary one."""

    async def typing(self) -> None:
        """Trigger the typing indicator once."""


class ChannelSurface:
    """Messages in a channel or thread; the first one replies to the user's message."""

    def __init__(
        self,
        channel: discord.abc.Messageable,
        *,
        reply_to: discord.Message | None,
        mention: discord.abc.Snowflake | None,
    ) -> None:
        self._channel = channel
        self._reply_to = reply_to
        self._mentions = safe_mentions(mention)
        self._primary: discord.Message | None = None

    async def show(self, text: str) -> None:
        if self._primary is not None:
            try:
                await self._primary.edit(content=text, allowed_mentions=self._mentions)
                return
            except discord.NotFound:
                _log.info("streamed message %s was deleted; sending anew", self._primary.id)
        reference = self._reply_to.to_reference(fail_if_not_exists=False) if self._reply_to else None
        self._primary = await self._send(text, reference)

    async def append(self, text: str) -> None:
        await self._send(text, None)

    async def typing(self) -> None:
        await self._channel.typing()

    async def _send(self, text: str, reference: discord.MessageReference | None) -> discord.Message:
        if reference is None:
            return await self._channel.send(text, allowed_mentions=self._mentions)
        return await self._channel.send(text, reference=reference, allowed_mentions=self._mentions)


class InteractionSurface:
    """The deferred response of a slash command, then follow-ups."""

    def __init__(self, interaction: discord.Interaction, *, ephemeral: bool) -> None:
        self._interaction = interaction
        self._ephemeral = ephemeral
        self._mentions = safe_mentions(interaction.user)

    async def show(self, text: str) -> None:
        await self._interaction.edit_original_response(content=text, allowed_mentions=self._mentions)

    async def append(self, text: str) -> None:
        await self._interaction.followup.send(
            text, ephemeral=self._ephemeral, allowed_mentions=self._mentions
        )

    async def typing(self) -> None:
        return  # a deferred interaction already shows "thinking..."


class StreamingSink:
    """One per incoming message. Call `aclose()` when the engine is done with it."""

    def __init__(
        self, surface: Surface, *, edit_interval: float, typing: bool = True, typing_refresh: float = 8.0
    ) -> None:
        self._surface = surface
        self._interval = edit_interval
        self._typing_enabled = typing
        self._typing_refresh = typing_refresh
        self._lock = asyncio.Lock()  # one network call at a time, in order
        self._shown: str | None = None
        self._pending: str | None = None
        self._last_edit = float("-inf")
        self._flush_task: asyncio.Task[None] | None = None
        self._typing_task: asyncio.Task[None] | None = None
        self._sent = False

    async def typing(self) -> None:
        if not self._typing_enabled or self._sent or self._shown is not None:
            return
        if self._typing_task is None or self._typing_task.done():
            await _delivered(self._surface.typing())
            self._typing_task = asyncio.create_task(self._keep_typing(), name="discord-typing")

    async def partial(self, text: str) -> None:
        if self._sent or not text.strip():
            return
        self._pending = text
        wait = self._last_edit + self._interval - asyncio.get_running_loop().time()
        if wait <= 0:
            await self._flush()
        elif self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._flush_later(wait), name="discord-stream-flush")

    async def send(self, reply: Reply) -> None:
        self._sent = True
        await self._stop_background()
        parts = split_message(reply.text) if reply.text.strip() else ["…"]
        async with self._lock:
            if parts[0] != self._shown:
                await _delivered(self._surface.show(parts[0]))
            for part in parts[1:]:
                await _delivered(self._surface.append(part))

    async def aclose(self) -> None:
        """Stop typing; a streamed partial that no final reply replaced is still shown."""
        await self._stop_background()
        if not self._sent and self._pending is not None:
            await self._flush()

    async def _flush(self) -> None:
        async with self._lock:
            text, self._pending = self._pending, None
            if text is None or self._sent:
                return
            shown = preview(text)
            self._last_edit = asyncio.get_running_loop().time()
            if shown != self._shown and await _delivered(self._surface.show(shown)):
                self._shown = shown
        await self._stop_typing()

    async def _flush_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._flush()

    async def _keep_typing(self) -> None:
        # Discord shows the indicator for about 10 s; refresh it until the first text appears.
        while True:
            await asyncio.sleep(self._typing_refresh)
            await _delivered(self._surface.typing())

    async def _stop_typing(self) -> None:
        await _cancel(self._typing_task)
        self._typing_task = None

    async def _stop_background(self) -> None:
        flush, self._flush_task = self._flush_task, None
        if flush is not None and self._lock.locked():
            # Mid-request: cancelling could leave a sent message we do not know about.
            await asyncio.wait([flush])
        await _cancel(flush)
        await self._stop_typing()


async def _delivered(request: Coroutine[Any, Any, None]) -> bool:
    """Run one send/edit; Discord refusing it is logged, not raised into the engine's turn."""
    try:
        await request
    except discord.HTTPException as exc:
        _log.warning("discord delivery failed: %s %s", exc.status, exc.text)
        return False
    return True


async def _cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel and wait for a helper task, without swallowing our own cancellation."""
    if task is None or task is asyncio.current_task():
        return
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled() and task.exception() is not None:
        _log.warning("discord delivery task %s failed", task.get_name(), exc_info=task.exception())
