"""`familiar doctor` for Discord: is the token valid, is the message content intent on, invite URL."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord

from adapters.discord.settings import DiscordSettings

_log = logging.getLogger(__name__)

GATEWAY_MESSAGE_CONTENT = 1 << 18
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
SCOPES = ("bot", "applications.commands")


@dataclass(frozen=True, slots=True, kw_only=True)
class DoctorCheck:
    ok: bool
    message: str

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'FAIL'}: {self.message}"


def invite_permissions() -> discord.Permissions:
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        create_public_threads=True,
        read_message_history=True,
        attach_files=True,
        embed_links=True,
        add_reactions=True,
        use_application_commands=True,
    )


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=invite_permissions(), scopes=SCOPES)


async def check_discord(settings: DiscordSettings, *, api_base: str | None = None) -> list[DoctorCheck]:
    """Ask Discord about the token and the application. Never raises for Discord's answers."""
    base = api_base or discord.http.Route.BASE
    headers = {"Authorization": f"Bot {settings.token.get_secret_value()}"}
    timeout = aiohttp.ClientTimeout(total=15)
    try:
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            status, me = await _get(session, f"{base}/users/@me")
            if status == 401:
                return [DoctorCheck(ok=False, message="Discord rejected the token (401): copy it again")]
            if status != 200:
                return [DoctorCheck(ok=False, message=f"GET /users/@me answered HTTP {status}")]
            checks = [
                DoctorCheck(ok=True, message=f"token valid: logged in as {me.get('username')} ({me['id']})")
            ]
            status, app = await _get(session, f"{base}/oauth2/applications/@me")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return [DoctorCheck(ok=False, message=f"cannot reach Discord: {exc.__class__.__name__}: {exc}")]
    if status != 200:
        return [
            *checks,
            DoctorCheck(ok=False, message=f"GET /oauth2/applications/@me answered HTTP {status}"),
        ]
    return [*checks, _intent_check(int(app.get("flags") or 0)), _invite_check(int(app["id"]))]


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with session.get(url) as response:
        if response.status != 200:
            return response.status, {}
        body: dict[str, Any] = await response.json(content_type=None)
        return response.status, body


def _intent_check(flags: int) -> DoctorCheck:
    if flags & GATEWAY_MESSAGE_CONTENT:
        return DoctorCheck(ok=True, message="message content intent enabled")
    if flags & GATEWAY_MESSAGE_CONTENT_LIMITED:
        return DoctorCheck(
            ok=True, message="message content intent enabled (limited: fine below 100 servers, verify after)"
        )
    return DoctorCheck(
        ok=False,
        message="message content intent is OFF: developer portal -> your application -> Bot -> "
        "Privileged Gateway Intents -> enable MESSAGE CONTENT INTENT",
    )


def _invite_check(application_id: int) -> DoctorCheck:
    return DoctorCheck(ok=True, message=f"invite URL: {invite_url(application_id)}")
