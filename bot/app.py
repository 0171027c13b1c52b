"""Application lifecycle: open everything in one exit stack, run the adapters, close in reverse.

Shutdown order (reverse of opening): adapters stop taking messages, the journal scheduler stops,
the engine finishes running turns and drains its post-turn queue (within its timeout; the rest stays
in the outbox and runs after the next start), providers close, stores close.
Each close is registered as soon as its resource is open, so a failure halfway through start-up
still closes what was opened; AsyncExitStack runs every callback even when one raises.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Sequence
from contextlib import AsyncExitStack, suppress

from adapters.base import Adapter
from bot.config import Settings
from bot.stores import open_stores
from bot.wiring import BuiltEngine, build_engine

_log = logging.getLogger(__name__)


class AdapterFailed(RuntimeError):
    """An adapter stopped with an error it could not recover from (bad token, missing intent)."""


async def supervise(adapters: Sequence[Adapter]) -> None:
    """Run every adapter as a named task; when one ends (or fails), stop the others.

    The terminal adapter ends when the user leaves; a server adapter only ends on a fatal error,
    since transient platform failures are retried inside it.
    """
    tasks = [asyncio.create_task(a.run(), name=f"adapter-{a.name}") for a in adapters]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for adapter in adapters:
            await adapter.close()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and (exc := task.exception()) is not None:
            raise AdapterFailed(f"{task.get_name()}: {exc}") from exc


def _install_signal_handlers() -> None:
    """SIGTERM stops like Ctrl-C does: the main task is cancelled and everything is closed."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    if main is None:
        return
    with suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, main.cancel)


class App:
    """`async with App(settings) as app:` opens stores, providers and the engine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stack = AsyncExitStack()
        self._built: BuiltEngine | None = None

    @property
    def built(self) -> BuiltEngine:
        if self._built is None:
            raise RuntimeError("App is not open")
        return self._built

    async def __aenter__(self) -> App:
        try:
            opened = await open_stores(self.settings, self._stack)
            self._built = await build_engine(self.settings, opened, self._stack)
        except BaseException:
            await self._stack.aclose()
            raise
        # Start-up leaves ~1M long-lived objects (SDKs, Chroma, the tokenizer tables); a full
        # collection walking them paused the loop for ~125 ms. Freezing moves them out of the
        # collector's generations, so turn-time collections only see turn-time garbage.
        gc.collect()
        gc.freeze()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._built = None
        await self._stack.aclose()

    async def run(self, adapters: Sequence[Adapter]) -> None:
        _install_signal_handlers()
        await supervise(adapters)
