"""A real Chroma server (`chroma run`) on a free loopback port, for tests and benches.

async with ChromaServer(tmp_path / "chroma") as server:
    index = ChromaIndex(model_id=..., dim=..., host=server.host, port=server.port)
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

import aiohttp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _chroma_cli() -> str:
    return str(Path(sys.executable).parent / "chroma")


class ChromaServer:
    def __init__(self, path: Path, *, startup_timeout_s: float = 30.0) -> None:
        self.path = path
        self.host = "127.0.0.1"
        self.port = _free_port()
        self._timeout_s = startup_timeout_s
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self._process = await asyncio.create_subprocess_exec(
            _chroma_cli(), "run", "--path", str(self.path), "--host", self.host, "--port", str(self.port),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + self._timeout_s
        url = f"http://{self.host}:{self.port}/api/v2/heartbeat"
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self._process.returncode is not None:
                    raise RuntimeError(f"chroma run exited with {self._process.returncode}")
                try:
                    async with http.get(url, timeout=aiohttp.ClientTimeout(total=1)) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        await self.close()
        raise TimeoutError(f"chroma server did not answer {url} within {self._timeout_s}s")

    async def close(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def __aenter__(self) -> ChromaServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
