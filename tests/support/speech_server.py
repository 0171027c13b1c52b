"""A local text-to-speech endpoint speaking OpenAI's `POST /v1/audio/speech` wire protocol.

It answers with a small Ogg stream whose last granule position says 2 seconds at 48 kHz (what
the adapters read a voice message's duration from), records every request's JSON, and fails with
a 500 (OpenAI's error shape) while `failing` is set.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

SPOKEN_SECONDS = 2


def fake_ogg(text: str) -> bytes:
    page = b"OggS\x00\x04" + struct.pack("<q", SPOKEN_SECONDS * 48_000) + b"\x00" * 16
    return page + text.encode()[:64]


class SpeechServer:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failing = False
        self._server: TestServer | None = None

    async def __aenter__(self) -> SpeechServer:
        app = web.Application()
        app.router.add_post("/v1/audio/speech", self._speech)
        self._server = TestServer(app, host="127.0.0.1", port=0)
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.port}/v1"

    async def _speech(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        if self.failing:
            error = {"error": {"message": "speech backend down", "type": "server_error"}}
            return web.Response(status=500, body=json.dumps(error), content_type="application/json")
        return web.Response(body=fake_ogg(str(body.get("input", ""))), content_type="audio/ogg")
