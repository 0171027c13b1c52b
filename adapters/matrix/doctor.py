"""`familiar doctor` for Matrix: can we log in, and does one sync succeed? Each finding says what to fix."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiohttp import ClientError
from nio import AsyncClient, LoginResponse, SyncResponse, WhoamiResponse

from adapters.matrix.login import client_config
from adapters.matrix.settings import MatrixSettings
from adapters.matrix.state import SessionFile

_log = logging.getLogger(__name__)

Level = Literal["ok", "warning", "error"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    level: Level
    text: str


async def check_matrix(settings: MatrixSettings, data_dir: Path | None = None) -> list[Finding]:
    """Login (whoami) and one sync. With `data_dir`, the adapter's saved session is used first,
    so the doctor does not create a device; a password check logs its temporary device out again."""
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="familiar-doctor-") as scratch:
        # Without encryption: the doctor must not touch (or create) the bot's keys.
        config = client_config(settings.model_copy(update={"encryption": False}))
        client = AsyncClient(settings.homeserver, settings.user_id, store_path=scratch, config=config)
        try:
            temporary = await _log_in(client, settings, data_dir, findings)
            if temporary is not None:
                await _check_sync(client, findings)
                if temporary:
                    await client.logout()
        except (ClientError, OSError, TimeoutError) as error:
            findings.append(
                Finding(
                    level="error",
                    text=f"cannot reach {settings.homeserver} ({type(error).__name__}: {error}); "
                    "check matrix.homeserver (scheme, host, port) and that the server is up",
                )
            )
        finally:
            await client.close()
    return findings


async def _log_in(
    client: AsyncClient, settings: MatrixSettings, data_dir: Path | None, findings: list[Finding]
) -> bool | None:
    """True: logged in with a temporary device; False: an existing token; None: failed."""
    token = await _existing_token(settings, data_dir)
    if token is not None:
        client.access_token = token
        response = await client.whoami()
        if isinstance(response, WhoamiResponse):
            findings.append(
                Finding(level="ok", text=f"logged in as {response.user_id} ({response.device_id})")
            )
            return False
        findings.append(
            Finding(
                level="error",
                text=f"the access token was refused ({response.message}); set a fresh matrix.access_token "
                "or matrix.password, and delete the saved session.json in the matrix store dir",
            )
        )
        return None
    assert settings.password is not None
    login = await client.login(settings.password.get_secret_value(), device_name="familiar-doctor")
    if not isinstance(login, LoginResponse):
        findings.append(
            Finding(
                level="error",
                text=f"password login as {settings.user_id} failed ({login.message}); "
                "check matrix.user_id and matrix.password",
            )
        )
        return None
    findings.append(Finding(level="ok", text=f"password login as {login.user_id} works"))
    return True


async def _existing_token(settings: MatrixSettings, data_dir: Path | None) -> str | None:
    if data_dir is not None:
        saved = await SessionFile(settings.resolved_store_dir(data_dir)).load()
        if saved is not None and saved.user_id == settings.user_id:
            return saved.access_token
    return settings.access_token.get_secret_value() if settings.access_token else None


async def _check_sync(client: AsyncClient, findings: list[Finding]) -> None:
    response = await client.sync(timeout=0, sync_filter={"room": {"timeline": {"limit": 1}}})
    if isinstance(response, SyncResponse):
        rooms = len(response.rooms.join)
        findings.append(Finding(level="ok", text=f"sync works ({rooms} joined rooms)"))
    else:
        findings.append(
            Finding(
                level="error",
                text=f"sync failed ({response.status_code}: {response.message}); "
                "check the homeserver's logs and any reverse proxy in front of /_matrix/client",
            )
        )
