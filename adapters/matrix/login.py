"""Logging in once and reusing the same device afterwards.

Order of preference: the saved session (same device, same E2EE keys, no new login), then the
configured access token (its device id comes from whoami), then a password login that creates
the device and saves it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, LoginResponse, WhoamiResponse

from adapters.base import AdapterSetupError
from adapters.matrix.settings import MatrixSettings
from adapters.matrix.state import SavedSession, SessionFile

_log = logging.getLogger(__name__)


class MatrixConfigError(AdapterSetupError):
    """Unrecoverable configuration problem; the message says what to fix."""


def client_config(settings: MatrixSettings) -> AsyncClientConfig:
    return AsyncClientConfig(
        encryption_enabled=settings.encryption,
        store_sync_tokens=True,
        max_limit_exceeded=settings.send_retries,  # nio sleeps retry_after_ms this many times
        # Connection failures surface quickly so the sync supervisor (not nio's endless inner
        # retry) owns backoff and liveness.
        max_timeouts=2,
        request_timeout=30,
    )


def new_client(settings: MatrixSettings, store_dir: Path, device_id: str | None) -> AsyncClient:
    store_dir.mkdir(parents=True, exist_ok=True)
    return AsyncClient(
        settings.homeserver,
        settings.user_id,
        device_id=device_id or "",
        store_path=str(store_dir),
        config=client_config(settings),
    )


async def open_client(settings: MatrixSettings, store_dir: Path, sessions: SessionFile) -> AsyncClient:
    """A logged-in client whose session is saved; raises MatrixConfigError on bad credentials."""
    saved = await sessions.load()
    if saved is not None and saved.user_id == settings.user_id:
        client = new_client(settings, store_dir, saved.device_id)
        client.restore_login(saved.user_id, saved.device_id, saved.access_token)
        if await _token_valid(client):
            return client
        _log.warning("matrix: saved access token was rejected; logging in again")
        await client.close()
        await sessions.forget_login()
    client = new_client(settings, store_dir, None)
    try:
        session = await _fresh_login(client, settings)
    except BaseException:
        await client.close()
        raise
    await sessions.save(session)
    return client


async def _token_valid(client: AsyncClient) -> bool:
    response = await client.whoami()
    if isinstance(response, WhoamiResponse):
        return True
    if response.status_code == "M_UNKNOWN_TOKEN":
        return False
    raise MatrixConfigError(f"matrix: whoami failed at {client.homeserver}: {response.message}")


async def _fresh_login(client: AsyncClient, settings: MatrixSettings) -> SavedSession:
    if settings.access_token is not None:
        return await _adopt_token(client, settings, settings.access_token.get_secret_value())
    assert settings.password is not None  # guaranteed by MatrixSettings' validator
    response = await client.login(settings.password.get_secret_value(), device_name=settings.device_name)
    if not isinstance(response, LoginResponse):
        raise MatrixConfigError(
            f"matrix: login as {settings.user_id} at {settings.homeserver} failed "
            f"({response.status_code}: {response.message}); check matrix.user_id and matrix.password"
        )
    _log.info("matrix: logged in as %s, new device %s", response.user_id, response.device_id)
    return SavedSession(
        user_id=str(response.user_id),
        device_id=str(response.device_id),
        access_token=str(response.access_token),
    )


async def _adopt_token(client: AsyncClient, settings: MatrixSettings, token: str) -> SavedSession:
    client.access_token = token
    response = await client.whoami()
    if not isinstance(response, WhoamiResponse) or not response.device_id:
        reason = getattr(response, "message", "the token has no device id")
        raise MatrixConfigError(
            f"matrix: the access token was refused by {settings.homeserver} ({reason}); "
            "create a new one (e.g. log in with a client and copy it) or set matrix.password instead"
        )
    if response.user_id != settings.user_id:
        raise MatrixConfigError(
            f"matrix: the access token belongs to {response.user_id}, not {settings.user_id}; "
            "fix matrix.user_id or the token"
        )
    client.restore_login(response.user_id, response.device_id, token)
    return SavedSession(user_id=response.user_id, device_id=response.device_id, access_token=token)
