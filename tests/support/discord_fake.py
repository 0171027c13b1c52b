"""A local fake of Discord's gateway and REST API, enough for discord.py's real `Client.start()`.

Point discord.py at it with `patch_discord_py(fake)` (sets `discord.http.Route.BASE` and
`DiscordWebSocket.DEFAULT_GATEWAY`; READY carries `resume_gateway_url`), and undo with the returned
callable. The gateway speaks plain JSON text frames: HELLO, heartbeat ACKs, READY + GUILD_CREATE on
IDENTIFY, RESUMED (replaying missed events) on RESUME, op 7 RECONNECT on request. REST calls are
recorded in `requests` so tests can assert exactly what the bot sent, `allowed_mentions` included.

Shards: `FakeDiscord(shard_count=3)` serves one guild per shard (`guild_ids`, each with its
channel at `channel_of(guild)`), accepts one connection per shard (IDENTIFY's `shard`), and
sends each guild's events only over its shard's connection, as Discord routes
`(guild_id >> 22) % shard_count`; DMs go to shard 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import BodyPartReader, WSMsgType, web
from aiohttp.test_utils import TestServer

BOT_ID = 900000000000000001
APP_ID = 900000000000000002
GUILD_ID = 900000000000000010
CHANNEL_ID = 900000000000000020
OPEN_CHANNEL_ID = 900000000000000021
DM_CHANNEL_ID = 900000000000000030
USER_ID = 900000000000000040
OTHER_BOT_ID = 900000000000000050
ADMIN_ROLE_ID = 900000000000000060
TIMESTAMP = "2026-11-24T12:00:00.000000+00:00"
EPHEMERAL_FLAG = 64

Json = dict[str, Any]


@dataclass(slots=True, kw_only=True)
class RecordedRequest:
    method: str
    path: str
    json: Any  # the decoded JSON body (an object, or a list for bulk command syncs)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    message_id: str | None = None  # the message a POST created or a PATCH edited


def user(user_id: int, name: str, *, bot: bool = False) -> Json:
    return {"id": str(user_id), "username": name, "global_name": name, "discriminator": "0",
            "avatar": None, "bot": bot}  # fmt: skip


def member(user_payload: Json, roles: tuple[int, ...] = ()) -> Json:
    return {"user": user_payload, "roles": [str(r) for r in roles], "joined_at": TIMESTAMP,
            "deaf": False, "mute": False, "flags": 0, "nick": None}  # fmt: skip


def text_channel(channel_id: int, name: str, guild_id: int = GUILD_ID) -> Json:
    return {"id": str(channel_id), "type": 0, "name": name, "position": 0, "guild_id": str(guild_id),
            "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None,
            "rate_limit_per_user": 0, "last_message_id": None}  # fmt: skip


BOT_USER = user(BOT_ID, "familiar", bot=True)
HUMAN = user(USER_ID, "alice")
OTHER_BOT = user(OTHER_BOT_ID, "otherbot", bot=True)


def shard_of(guild_id: int, shard_count: int) -> int:
    return (guild_id >> 22) % shard_count


def channel_of(guild_id: int) -> int:
    """The mention-triggered text channel of a guild (CHANNEL_ID for GUILD_ID)."""
    return guild_id + (CHANNEL_ID - GUILD_ID)


def _shard_guilds(shard_count: int) -> list[int]:
    """One guild per shard, GUILD_ID first: adding 1 << 22 moves a guild to the next shard."""
    return [GUILD_ID + (k << 22) for k in range(shard_count)]


class FakeDiscord:
    def __init__(self, *, app_flags: int = 1 << 18, token: str = "fake-token", shard_count: int = 1) -> None:
        self.shard_count = shard_count
        self.guild_ids = _shard_guilds(shard_count)
        self._sockets: dict[int, web.WebSocketResponse] = {}  # by shard
        self.app_flags = app_flags
        self.token = token
        self.requests: list[RecordedRequest] = []
        self.identifies = 0
        self.resumes = 0
        self.redeliver_on_resume: list[tuple[str, Json]] = []
        self.close_identify_with: int | None = None  # e.g. 4014: disallowed intents
        self._ids = itertools.count(910000000000000000)
        self._seq = 0
        self._events: list[tuple[int, str, Json, int]] = []  # (seq, event, data, shard)
        self._ws: web.WebSocketResponse | None = None
        self._changed = asyncio.Condition()
        self._server: TestServer | None = None
        self.cdn_files: dict[str, bytes] = {}  # served at /cdn/{name}

    # lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        self._server = TestServer(self._app(), host="127.0.0.1", port=0)
        await self._server.start_server()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._server is not None:
            await self._server.close()

    @property
    def port(self) -> int:
        assert self._server is not None
        assert self._server.port is not None
        return self._server.port

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def next_id(self) -> int:
        """A snowflake carrying the current time, as Discord's do: discord.py dates messages by id."""
        discord_epoch_ms = 1420070400000
        now_ms = int(time.time() * 1000) - discord_epoch_ms
        return (now_ms << 22) | (next(self._ids) & 0x3FFFFF)

    # what tests drive -------------------------------------------------------------------------
    async def dispatch(self, event: str, data: Json, *, shard: int | None = None) -> None:
        """Send an event over its shard's connection (by its guild; DMs on shard 0)."""
        if shard is None:
            guild = data.get("guild_id") if isinstance(data, dict) else None
            shard = shard_of(int(guild), self.shard_count) if guild else 0
        self._seq += 1
        self._events.append((self._seq, event, data, shard))
        ws = self._sockets.get(shard)
        if ws is not None and not ws.closed:
            # A connection whose client was just killed may still look open: the event is lost to
            # it, as on Discord, and kept in `_events` for a RESUME.
            with contextlib.suppress(ConnectionResetError):
                await self._send({"op": 0, "t": event, "s": self._seq, "d": data}, ws)

    def connected_shards(self) -> set[int]:
        return {shard for shard, ws in self._sockets.items() if not ws.closed}

    async def send_reconnect(self) -> None:
        """Op 7: Discord asks the client to reconnect and RESUME."""
        assert self._ws is not None
        await self._send({"op": 7, "d": None})

    async def drop_connection(self, code: int = 4000) -> None:
        """Close the socket the way a network blip or a Discord restart does."""
        assert self._ws is not None
        await self._ws.close(code=code)

    async def wait_for(self, predicate: Callable[[], bool], seconds: float = 10.0) -> None:
        async with asyncio.timeout(seconds), self._changed:
            await self._changed.wait_for(predicate)

    def sent(self, method: str, path_part: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and path_part in r.path]

    def message(
        self,
        *,
        content: str,
        author: Json = HUMAN,
        channel_id: int = CHANNEL_ID,
        guild: bool = True,
        mentions: tuple[Json, ...] = (),
        referenced: Json | None = None,
        webhook_id: int | None = None,
        message_id: int | None = None,
        attachments: tuple[Json, ...] = (),
        guild_id: int = GUILD_ID,
    ) -> Json:
        data: Json = {
            "id": str(message_id or self.next_id()), "channel_id": str(channel_id), "author": author,
            "content": content, "timestamp": TIMESTAMP, "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": list(mentions), "mention_roles": [],
            "attachments": list(attachments), "embeds": [], "pinned": False, "type": 0, "flags": 0,
        }  # fmt: skip
        if guild:
            data["guild_id"] = str(guild_id)
            data["member"] = {k: v for k, v in member(author).items() if k != "user"}
        if webhook_id is not None:
            data["webhook_id"] = str(webhook_id)
        if referenced is not None:
            data["type"] = 19
            data["message_reference"] = {
                "message_id": referenced["id"],
                "channel_id": referenced["channel_id"],
            }
            data["referenced_message"] = referenced
        return data

    def slash_command(
        self, name: str, options: list[Json] | None = None, *, roles: tuple[int, ...] = ()
    ) -> Json:
        interaction_id = self.next_id()
        return {
            "id": str(interaction_id), "application_id": str(APP_ID), "type": 2, "version": 1,
            "token": f"token-{interaction_id}", "guild_id": str(GUILD_ID), "channel_id": str(CHANNEL_ID),
            "channel": text_channel(CHANNEL_ID, "general"),
            "member": {**member(HUMAN, roles), "permissions": "2248473465835073"},
            "data": {"id": str(self.next_id()), "name": name, "type": 1, "options": options or []},
            "locale": "en-US", "guild_locale": "en-US", "app_permissions": "2248473465835073",
            "entitlements": [], "authorizing_integration_owners": {}, "context": 0,
            "attachment_size_limit": 10485760,
        }  # fmt: skip

    # gateway ----------------------------------------------------------------------------------
    async def _send(self, payload: Json, ws: web.WebSocketResponse | None = None) -> None:
        target = ws if ws is not None else self._ws
        assert target is not None
        await target.send_str(json.dumps(payload))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws = ws
        await self._send({"op": 10, "d": {"heartbeat_interval": 45000}}, ws)
        async for frame in ws:
            if frame.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            await self._on_gateway_op(ws, payload["op"], payload.get("d"))
        return ws

    async def _on_gateway_op(self, ws: web.WebSocketResponse, op: int, data: Any) -> None:
        if op == 1:
            await self._send({"op": 11}, ws)
        elif op == 2:
            self.identifies += 1
            if self.close_identify_with is not None:
                await ws.close(code=self.close_identify_with)
                return
            shard = int((data.get("shard") or [0, 1])[0])
            self._sockets[shard] = ws
            await self.dispatch("READY", self._ready(shard), shard=shard)
            for guild_id in self._guilds_of(shard):
                await self.dispatch("GUILD_CREATE", self._guild(guild_id), shard=shard)
        elif op == 6:
            self.resumes += 1
            shard = int(str(data.get("session_id", "fake-session-0")).rsplit("-", 1)[-1] or 0)
            self._sockets[shard] = ws
            await self._resume(int(data["seq"] or 0), shard)
        await self._notify()

    async def _resume(self, last_seq: int, shard: int = 0) -> None:
        missed = [(t, d) for s, t, d, on in self._events if s > last_seq and on == shard]
        for event, data in missed:
            await self.dispatch(event, data, shard=shard)
        await self.dispatch("RESUMED", {}, shard=shard)
        for event, data in self.redeliver_on_resume:
            await self.dispatch(event, data)
        self.redeliver_on_resume = []

    def _guilds_of(self, shard: int) -> list[int]:
        return [g for g in self.guild_ids if shard_of(g, self.shard_count) == shard]

    def _guild_of_channel(self, channel_id: int) -> int:
        for guild_id in self.guild_ids:
            if channel_id in (channel_of(guild_id), channel_of(guild_id) + 1):
                return guild_id
        return GUILD_ID

    def _ready(self, shard: int = 0) -> Json:
        guilds = [{"id": str(g), "unavailable": True} for g in self._guilds_of(shard)]
        return {
            "v": 10, "user": BOT_USER, "guilds": guilds, "session_id": f"fake-session-{shard}",
            "resume_gateway_url": self.gateway_url, "shard": [shard, self.shard_count],
            "application": {"id": str(APP_ID), "flags": self.app_flags}, "private_channels": [],
            "relationships": [],
        }  # fmt: skip

    def _guild(self, guild_id: int = GUILD_ID) -> Json:
        everyone = {"id": str(guild_id), "name": "@everyone", "permissions": "2248473465835073",
                    "position": 0, "color": 0, "hoist": False, "managed": False, "mentionable": False,
                    "flags": 0}  # fmt: skip
        admin = {**everyone, "id": str(ADMIN_ROLE_ID), "name": "admins", "position": 1}
        members = [member(BOT_USER), member(HUMAN), member(OTHER_BOT)]
        channels = [text_channel(channel_of(guild_id), "general", guild_id),
                    text_channel(channel_of(guild_id) + 1, "open", guild_id)]  # fmt: skip
        return {
            "id": str(guild_id), "name": "Test Guild", "owner_id": str(USER_ID), "unavailable": False,
            "member_count": len(members), "large": False, "joined_at": TIMESTAMP, "channels": channels,
            "threads": [], "roles": [everyone, admin], "members": members, "emojis": [], "stickers": [],
            "features": [], "voice_states": [], "presences": [], "stage_instances": [],
            "guild_scheduled_events": [], "premium_tier": 0, "mfa_level": 0, "verification_level": 0,
            "explicit_content_filter": 0, "default_message_notifications": 0, "afk_timeout": 300,
            "system_channel_flags": 0, "preferred_locale": "en-US", "nsfw_level": 0,
        }  # fmt: skip

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # REST -------------------------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application()
        api = "/api/v10"
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get(f"{api}/users/@me", self._me)
        app.router.add_get(f"{api}/oauth2/applications/@me", self._application)
        app.router.add_get(f"{api}/gateway/bot", self._gateway_bot)
        app.router.add_post(f"{api}/channels/{{cid}}/messages", self._create_message)
        app.router.add_patch(f"{api}/channels/{{cid}}/messages/{{mid}}", self._edit_message)
        app.router.add_post(f"{api}/channels/{{cid}}/typing", self._typing)
        app.router.add_post(f"{api}/channels/{{cid}}/messages/{{mid}}/threads", self._create_thread)
        app.router.add_get("/cdn/{name}", self._cdn)
        app.router.add_put(f"{api}/applications/{{app}}/commands", self._put_commands)
        app.router.add_put(f"{api}/applications/{{app}}/guilds/{{gid}}/commands", self._put_commands)
        app.router.add_post(f"{api}/interactions/{{iid}}/{{token}}/callback", self._interaction_callback)
        app.router.add_post(f"{api}/webhooks/{{app}}/{{token}}", self._followup)
        app.router.add_patch(f"{api}/webhooks/{{app}}/{{token}}/messages/@original", self._edit_original)
        return app

    async def _record(self, request: web.Request) -> RecordedRequest:
        body: Json | None = None
        files: list[tuple[str, bytes]] = []
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if isinstance(part, BodyPartReader):
                    if part.name == "payload_json":
                        body = json.loads(await part.text())
                    else:
                        files.append((part.filename or "", bytes(await part.read())))
        elif request.can_read_body:
            body = await request.json()
        recorded = RecordedRequest(method=request.method, path=request.path, json=body, files=files)
        self.requests.append(recorded)
        await self._notify()
        return recorded

    async def _me(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bot {self.token}":
            body = json.dumps({"message": "401: Unauthorized", "code": 0}).encode()
            return web.Response(status=401, body=body, headers={"Content-Type": "application/json"})
        return _json(BOT_USER)

    async def _application(self, _: web.Request) -> web.Response:
        return _json({"id": str(APP_ID), "name": "familiar", "description": "", "icon": None,
                      "bot_public": True, "bot_require_code_grant": False, "verify_key": "k",
                      "flags": self.app_flags, "owner": HUMAN, "team": None})  # fmt: skip

    async def _gateway_bot(self, _: web.Request) -> web.Response:
        limits = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": self.shard_count, "session_start_limit": limits})

    async def _create_message(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        body = recorded.json or {}
        channel_id = int(request.match_info["cid"])
        data = self.message(content=body.get("content", ""), author=BOT_USER, channel_id=channel_id,
                            guild=channel_id != DM_CHANNEL_ID,
                            guild_id=self._guild_of_channel(channel_id))  # fmt: skip
        if "message_reference" in body:
            data["message_reference"] = body["message_reference"]
            data["type"] = 19
        recorded.message_id = str(data["id"])
        # Real Discord echoes the bot's own messages back through the gateway.
        await self.dispatch("MESSAGE_CREATE", data)
        return _json(data)

    async def _edit_message(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        recorded.message_id = request.match_info["mid"]
        data = self.message(content=(recorded.json or {}).get("content", ""), author=BOT_USER,
                            channel_id=int(request.match_info["cid"]),
                            message_id=int(request.match_info["mid"]))  # fmt: skip
        return _json(data)

    async def _typing(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(status=204)

    async def _create_thread(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        thread = {
            "id": str(self.next_id()), "guild_id": str(GUILD_ID), "parent_id": request.match_info["cid"],
            "owner_id": str(BOT_ID), "name": (recorded.json or {}).get("name", "thread"), "type": 11,
            "last_message_id": None, "rate_limit_per_user": 0, "message_count": 0, "member_count": 1,
            "flags": 0, "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                            "archive_timestamp": TIMESTAMP, "locked": False},
        }  # fmt: skip
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread)

    async def _cdn(self, request: web.Request) -> web.Response:
        data = self.cdn_files.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, headers={"Content-Type": "application/octet-stream"})

    def attachment(self, name: str, data: bytes, content_type: str, *, size: int | None = None) -> Json:
        """An attachment payload whose bytes the fake CDN serves; `size` may claim more than is served."""
        self.cdn_files[name] = data
        url = f"http://127.0.0.1:{self.port}/cdn/{name}"
        return {"id": str(self.next_id()), "filename": name, "size": len(data) if size is None else size,
                "url": url, "proxy_url": url, "content_type": content_type}  # fmt: skip

    async def _put_commands(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        commands = [{**c, "id": str(self.next_id()), "application_id": str(APP_ID), "version": "1"}
                    for c in (recorded.json or [])]  # fmt: skip
        return _json(commands)

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        body = recorded.json or {}
        flags = (body.get("data") or {}).get("flags", 0) or 0
        return _json({
            "interaction": {"id": request.match_info["iid"], "type": 2,
                            "response_message_loading": body.get("type") == 5,
                            "response_message_ephemeral": bool(flags & EPHEMERAL_FLAG)},
            "resource": {"type": body.get("type", 4)},
        })  # fmt: skip

    async def _followup(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        body = recorded.json or {}
        data = self.message(content=body.get("content", ""), author=BOT_USER)
        data["flags"] = body.get("flags", 0) or 0
        data["webhook_id"] = str(APP_ID)
        return _json(data)

    async def _edit_original(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        data = self.message(content=(recorded.json or {}).get("content", ""), author=BOT_USER)
        data["webhook_id"] = str(APP_ID)
        return _json(data)


def _json(payload: Any) -> web.Response:
    # Exactly `application/json`: discord.py does not parse a body whose type carries a charset.
    return web.Response(body=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})


def patch_discord_py(fake: FakeDiscord) -> Callable[[], None]:
    """Point discord.py at the fake; returns the function that restores the real endpoints."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)

    def restore() -> None:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return restore
