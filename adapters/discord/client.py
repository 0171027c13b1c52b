"""The Discord adapter: the gateway connection, event handling and its lifecycle.

discord.py reconnects and RESUMEs by itself (`reconnect=True`); a re-delivered MESSAGE_CREATE is
answered once because the engine de-duplicates on the message id. Each message is handled in its
own named task, owned by the adapter and drained (then cancelled) on close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any

import discord

from adapters.base import AdapterSetupError
from adapters.discord.attachments import Transcriber, load_attachments
from adapters.discord.commands import CommandHandler, build_command_tree, sync_commands
from adapters.discord.outbound import post_unsolicited
from adapters.discord.settings import DiscordSettings, ResolvedPolicy
from adapters.discord.sink import ChannelSurface, StreamingSink, safe_mentions
from adapters.discord.translate import MessageFacts, facts_from_message, to_incoming
from adapters.discord.triggers import Decision, decide
from adapters.discord.voice import send_voice_message
from persona.api import Admission, Engine
from persona.outbound import OutboundMessage, ReplyTap, VoiceReplier
from persona.types import IncomingMessage, Reply, TurnOutcome

_log = logging.getLogger(__name__)

INTENT_HELP = (
    "Discord refused the MESSAGE CONTENT intent. Open https://discord.com/developers/applications, "
    "select this bot's application, go to 'Bot' -> 'Privileged Gateway Intents' and enable "
    "'MESSAGE CONTENT INTENT', then start again."
)
TOKEN_HELP = "Discord rejected the token: copy it again from the developer portal ('Bot' -> 'Reset Token')."


class DiscordSetupError(AdapterSetupError):
    """A configuration problem the operator must fix (bad token, missing intent)."""


class _Client(discord.Client):
    def __init__(self, *, on_setup: Any, **options: Any) -> None:
        super().__init__(**options)
        self._on_setup = on_setup

    async def setup_hook(self) -> None:
        await self._on_setup(self)


class _ShardedClient(discord.AutoShardedClient):
    def __init__(self, *, on_setup: Any, **options: Any) -> None:
        super().__init__(**options)
        self._on_setup = on_setup

    async def setup_hook(self) -> None:
        await self._on_setup(self)


class DiscordAdapter:
    name = "discord"
    platform = "discord"  # as an `Outbound` port

    def __init__(
        self,
        settings: DiscordSettings,
        engine: Engine,
        *,
        transcriber: Transcriber | None = None,
        voice: VoiceReplier | None = None,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._transcriber = transcriber
        self._voice = voice
        self._client: discord.Client | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepting = True
        self._closing: asyncio.Task[None] | None = None  # this run's shutdown, once started
        self._closed = False

    @property
    def client(self) -> discord.Client | None:
        return self._client

    async def run(self) -> None:
        """One connection, on a new client; after a failure the supervisor may call it again."""
        if self._closed:
            return
        self._closing, self._accepting = None, True
        client = self._client = self._build_client()
        try:
            await client.start(self._settings.token.get_secret_value(), reconnect=True)
        except discord.PrivilegedIntentsRequired as exc:
            raise DiscordSetupError(INTENT_HELP) from exc
        except discord.LoginFailure as exc:
            raise DiscordSetupError(TOKEN_HELP) from exc
        finally:
            await self._stop()

    async def close(self) -> None:
        self._closed = True
        await self._stop()

    async def deliver(self, message: OutboundMessage) -> None:
        """`persona.outbound.Outbound`: a reminder or check-in into its channel, thread or DM."""
        await post_unsolicited(self._client, message)

    async def _stop(self) -> None:
        # Shielded: a cancelled caller (the supervisor stopping) must not cut a drain in half.
        if self._closing is None:
            self._closing = asyncio.create_task(self._shutdown(), name="discord-adapter-close")
        await asyncio.shield(self._closing)

    async def _shutdown(self) -> None:
        # Stop taking new events, let in-flight replies finish while HTTP is still open, then disconnect.
        self._accepting = False
        await self._drain()
        if self._client is not None:
            await self._client.close()

    async def _drain(self) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=self._settings.close_drain_timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    def _build_client(self) -> discord.Client:
        intents = discord.Intents.default()
        intents.message_content = True  # privileged: must be enabled in the developer portal
        options: dict[str, Any] = {
            "intents": intents,
            "allowed_mentions": safe_mentions(None),
            "guild_ready_timeout": self._settings.guild_ready_timeout,
            "on_setup": self._setup,
        }
        client: discord.Client
        if self._settings.shard_ids is not None:
            options["shard_ids"] = list(self._settings.shard_ids)
        if self._settings.auto_shard or self._settings.shard_ids is not None:
            client = _ShardedClient(shard_count=self._settings.shard_count, **options)
        else:
            client = _Client(**options)
        client.event(self.on_message)
        client.event(self.on_ready)
        return client

    async def _setup(self, client: discord.Client) -> None:
        handler = CommandHandler(engine=self._engine, settings=self._settings, track=self._run_tracked)
        tree = build_command_tree(client, handler)
        try:
            await sync_commands(tree, self._settings.command_guild_ids)
        except discord.HTTPException as exc:
            # The bot still answers messages without slash commands; say why they are missing.
            _log.error("could not register slash commands: %s %s", exc.status, exc.text)

    async def on_ready(self) -> None:
        user = self._client.user if self._client else None
        _log.info("discord connected as %s (%s)", user, user.id if user else "?")

    async def on_message(self, message: discord.Message) -> None:
        self._spawn(self._handle_message(message), name=f"discord-message-{message.id}")

    def _spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None] | None:
        if not self._accepting:
            work.close()
            return None
        task = asyncio.create_task(self._guarded(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run_tracked(self, work: Coroutine[Any, Any, None]) -> None:
        """Run slash-command work as an owned task (discord.py's own invoker task is not ours)."""
        task = self._spawn(work, name="discord-command")
        if task is not None:
            await task

    @staticmethod
    async def _guarded(work: Awaitable[None], name: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            # One broken event must not take the connection down; the engine never raises by contract.
            _log.exception("discord handler %s failed", name)

    async def _handle_message(self, message: discord.Message) -> None:
        client = self._client
        if client is None or client.user is None:
            return
        bot_id = client.user.id
        facts = facts_from_message(message)
        policy = self._policy(facts)
        decision = decide(facts, bot_user_id=bot_id, policy=policy, allow_bots=self._settings.allow_bots)
        if decision is Decision.OBSERVE:
            await self._engine.observe(to_incoming(facts, bot_user_id=bot_id, policy=policy))
        if decision is not Decision.ANSWER:
            return
        await self._answer(message, facts, policy, bot_id)

    def _policy(self, facts: MessageFacts) -> ResolvedPolicy:
        return self._settings.policy_for(
            guild_id=facts.guild_id,
            channel_id=facts.room_channel_id,
            thread_id=facts.channel_id if facts.in_thread else None,
        )

    async def _answer(
        self, message: discord.Message, facts: MessageFacts, policy: ResolvedPolicy, bot_id: int
    ) -> None:
        # The engine's gate first: a duplicate or rate-limited message costs no download,
        # no speech-to-text and no thread.
        admission = await self._engine.admit(to_incoming(facts, bot_user_id=bot_id, policy=policy))
        if not admission.admitted:
            await self._refuse(message, admission)
            return
        attachments = await load_attachments(
            message.attachments, limits=self._settings.attachments, transcriber=self._transcriber
        )
        thread = await self._auto_thread(message, facts, policy, bot_id)
        incoming = to_incoming(
            facts,
            bot_user_id=bot_id,
            policy=policy,
            attachments=attachments,
            thread_id=thread.id if thread is not None else None,
        )
        surface = ChannelSurface(
            thread if thread is not None else message.channel,
            reply_to=None if thread is not None else message,
            mention=message.author,
        )
        sink = self._sink(surface)
        tap = ReplyTap(sink)
        try:
            outcome = await self._engine.submit(incoming, tap)
        finally:
            await sink.aclose()
        _log.debug("message %s: %s", message.id, outcome.value)
        if outcome is TurnOutcome.ANSWERED and tap.final is not None:
            await self._speak(incoming, tap.final, thread.id if thread is not None else None, message)

    async def _speak(
        self, incoming: IncomingMessage, reply: Reply, thread_id: int | None, message: discord.Message
    ) -> None:
        """The reply as a voice message too, after its text, when the person asked for that."""
        client = self._client
        if self._voice is None or client is None:
            return
        spoken = await self._voice.speak(incoming, reply)
        if spoken is None:
            return
        channel_id = thread_id if thread_id is not None else message.channel.id
        await send_voice_message(client, channel_id, spoken, reply_to=None if thread_id else message)

    async def _refuse(self, message: discord.Message, admission: Admission) -> None:
        """A message not admitted gets its line (a limit's, or a resumed event's committed reply)
        or nothing (a duplicate)."""
        _log.debug("message %s not admitted: %s", message.id, admission.outcome)
        if admission.reply is None:
            return
        sink = self._sink(ChannelSurface(message.channel, reply_to=message, mention=message.author))
        try:
            await sink.send(admission.reply)
        finally:
            await sink.aclose()

    def _sink(self, surface: ChannelSurface) -> StreamingSink:
        return StreamingSink(
            surface,
            edit_interval=self._settings.stream_edit_interval,
            typing=self._settings.typing,
            typing_refresh=self._settings.typing_refresh,
        )

    async def _auto_thread(
        self, message: discord.Message, facts: MessageFacts, policy: ResolvedPolicy, bot_id: int
    ) -> discord.Thread | None:
        if not policy.auto_thread or facts.is_dm or facts.in_thread:
            return None
        if not isinstance(message.channel, discord.TextChannel):
            return None
        title = to_incoming(facts, bot_user_id=bot_id, policy=policy).text[:90] or "conversation"
        try:
            return await message.create_thread(name=title)
        except discord.HTTPException as exc:
            # e.g. a re-delivered message whose thread already exists: answer in the channel.
            _log.info("auto-thread for %s not created: %s", message.id, exc.text)
            return None
