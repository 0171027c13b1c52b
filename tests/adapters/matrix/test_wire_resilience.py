"""Rate limits and a hung sync, against a small local server speaking the Matrix wire format.

Synapse cannot be told to hang a sync or to rate-limit on cue, so these two cases use a local
aiohttp app that answers the few endpoints involved exactly as the spec describes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from nio import AsyncClient

from adapters.matrix import MatrixAdapter, MatrixSettings
from adapters.matrix.login import client_config
from adapters.matrix.transport import Transport
from tests.adapters.matrix.fake_engine import FakeEngine

BOT = "@familiar:localhost"


class FakeHomeserver:
    def __init__(self, *, rate_limited_sends: int = 0, hung_syncs: int = 0, lost_responses: int = 0) -> None:
        self.rate_limited_sends = rate_limited_sends
        self.hung_syncs = hung_syncs
        self.lost_responses = lost_responses
        self.posted: dict[str, str] = {}  # transaction id -> event id, as a homeserver keeps them
        self.send_attempts = 0
        self.sync_calls = 0
        self.answered_syncs = 0
        self.resumed = asyncio.Event()  # the client came back for more after hung syncs

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/_matrix/client/v3/account/whoami", self.whoami)
        app.router.add_get("/_matrix/client/v3/sync", self.sync)
        app.router.add_put("/_matrix/client/v3/rooms/{room}/send/{kind}/{txn}", self.send)
        return app

    async def whoami(self, _request: web.Request) -> web.Response:
        return web.json_response({"user_id": BOT, "device_id": "DEVICE"})

    async def sync(self, _request: web.Request) -> web.Response:
        self.sync_calls += 1
        if self.sync_calls >= self.hung_syncs + 3:
            self.resumed.set()
        if self.sync_calls <= self.hung_syncs:
            await asyncio.sleep(3600)  # a connection that never answers
        self.answered_syncs += 1
        await asyncio.sleep(0.05)
        return web.json_response({"next_batch": f"s{self.sync_calls}", "rooms": {}})

    async def send(self, request: web.Request) -> web.Response:
        self.send_attempts += 1
        if self.send_attempts <= self.rate_limited_sends:
            body = {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": 30}
            return web.json_response(body, status=429)
        # The spec: a repeated transaction id returns the event it already made, posting nothing.
        txn = request.match_info["txn"]
        event_id = self.posted.setdefault(txn, f"$sent{len(self.posted) or ''}")
        if self.send_attempts <= self.rate_limited_sends + self.lost_responses:
            assert request.transport is not None
            request.transport.close()  # posted, but the answer never reaches the client
        return web.json_response({"event_id": event_id})


@contextlib.asynccontextmanager
async def serving(homeserver: FakeHomeserver) -> AsyncIterator[str]:
    server = TestServer(homeserver.app(), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


async def send_once_through(homeserver: FakeHomeserver) -> str | None:
    """One message sent by our transport (3 retries) over a logged-in nio client."""
    async with serving(homeserver) as url:
        # nio itself retries once (max_limit_exceeded), then our transport retries the send.
        settings = MatrixSettings(homeserver=url, user_id=BOT, access_token="token", send_retries=1)  # type: ignore[arg-type]
        client = AsyncClient(url, BOT, config=client_config(settings))
        client.restore_login(BOT, "DEVICE", "token")
        try:
            return await Transport(client, send_retries=3).send(
                "!room:localhost", {"msgtype": "m.text", "body": "hi"}
            )
        finally:
            await client.close()


async def test_a_rate_limited_send_waits_and_is_delivered() -> None:
    homeserver = FakeHomeserver(rate_limited_sends=3)
    event_id = await send_once_through(homeserver)
    assert event_id == "$sent"
    assert homeserver.send_attempts == 4


async def test_a_retry_after_a_lost_response_does_not_post_twice() -> None:
    homeserver = FakeHomeserver(lost_responses=1)
    event_id = await send_once_through(homeserver)
    assert homeserver.send_attempts == 2  # the retry went out...
    assert list(homeserver.posted.values()) == ["$sent"]  # ...with the same transaction id
    assert event_id == "$sent"


async def test_a_hung_sync_is_abandoned_and_syncing_goes_on(tmp_path: Path) -> None:
    homeserver = FakeHomeserver(hung_syncs=2)
    async with serving(homeserver) as url:
        settings = MatrixSettings(
            homeserver=url,
            user_id=BOT,
            access_token="token",  # type: ignore[arg-type]
            encryption=False,
            sync_timeout_ms=100,
            sync_liveness_factor=2.0,
            sync_backoff_initial=0.01,
            sync_backoff_max=0.05,
        )
        adapter = MatrixAdapter(settings, FakeEngine(), tmp_path)
        task = asyncio.create_task(adapter.run())
        try:
            async with asyncio.timeout(20):
                await homeserver.resumed.wait()
        finally:
            await adapter.close()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert homeserver.sync_calls > homeserver.hung_syncs
    assert adapter.sync_count >= 2  # answered syncs after the hung ones were abandoned
